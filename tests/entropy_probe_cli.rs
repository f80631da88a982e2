//! The `entropy_probe` example writes a JSON table, a markdown table and an SVG plot of mean
//! attention entropy per layer against length, for each method asked for.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn writes_table_and_plot_for_every_method_and_length() {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().and_then(|d| d.parent()).unwrap().join("examples").join("entropy_probe");
    let tmp_dir = tempfile::tempdir().unwrap();
    let tmp = tmp_dir.path();
    let text = tmp.join("probe_text.txt");
    std::fs::write(&text, "the grass is green. the sky is blue. here we go. ".repeat(30)).unwrap();
    let out = tmp.join("entropy_probe_out");
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-llama/default");
    let run = Command::new(&bin)
        .args(["--model", model.to_str().unwrap(), "--text", text.to_str().unwrap(), "--lengths", "32,64,128"])
        .args(["--methods", "config,pi,ntk,yarn,abf,eabf", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("entropy.json")).unwrap()).unwrap();
    let methods = json["methods"].as_array().unwrap();
    assert_eq!(methods.len(), 6);
    for m in methods {
        let layers = m["mean_entropy_per_layer"].as_array().unwrap();
        assert_eq!(layers.len(), 2);
        for row in layers {
            let row: Vec<f64> = serde_json::from_value(row.clone()).unwrap();
            assert_eq!(row.len(), 3);
            // longer contexts spread attention over more keys: entropy in (0, ln n], rising
            assert!(row.iter().zip([32.0f64, 64.0, 128.0]).all(|(h, n)| *h > 0.0 && *h <= n.ln()));
            assert!(row[2] > row[0]);
        }
    }
    let md = std::fs::read_to_string(out.join("entropy.md")).unwrap();
    let cells = |l: &str| l.split('|').map(str::trim).filter(|c| !c.is_empty()).map(String::from).collect::<Vec<_>>();
    assert!(md.lines().any(|l| cells(l).get(..2) == Some(&["eabf".to_string(), "1".to_string()][..])), "{md}");
    assert!(std::fs::read_to_string(out.join("entropy.svg")).unwrap().contains("<polyline"));
    // --replot writes the table again from entropy.json alone
    std::fs::remove_file(out.join("entropy.md")).unwrap();
    let replot = Command::new(&bin).args(["--replot", "--out", out.to_str().unwrap()]).output().unwrap();
    assert!(replot.status.success(), "{}", String::from_utf8_lossy(&replot.stderr));
    assert_eq!(std::fs::read_to_string(out.join("entropy.md")).unwrap(), md);
    let bad = Command::new(&bin)
        .args(["--model", model.to_str().unwrap(), "--text", text.to_str().unwrap(), "--methods", "warp"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown method"));
}
