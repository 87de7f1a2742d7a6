use labbook::prelude::*;

#[derive(Serialize)]
struct Hp {
    lr: f64,
    steps: usize,
}

#[experiment(name = "probe")]
fn train(#[config] hp: &Hp) -> anyhow::Result<f64> {
    let mut total = 0.0;
    for i in 0..hp.steps {
        #[log(metric, every = 10)]
        let loss = 1.0 / (i as f64 + 1.0);
        total += loss;
    }
    #[log(metric)]
    let total_loss = total;
    #[log(text, name = "note")]
    format!("finished {} steps", hp.steps);
    Ok(total)
}

fn main() {
    let root = std::env::temp_dir().join(format!("labbook-ui-readme-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &root);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    let total = train(&Hp { lr: 0.1, steps: 100 }).unwrap();
    assert!(total > 5.0);

    let run = std::fs::read_dir(root.join("probe"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.is_dir())
        .unwrap();
    let lines = |path: &str| {
        std::fs::read_to_string(run.join(path))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(lines("metrics/loss.jsonl"), 10);
    assert_eq!(lines("metrics/total_loss.jsonl"), 1);
    assert_eq!(lines("text/note.jsonl"), 1);
    std::fs::remove_dir_all(&root).unwrap();
}
