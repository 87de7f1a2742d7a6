use labbook::prelude::*;

#[derive(Serialize)]
struct Hp {
    optimizer: String,
    layers: Vec<usize>,
}

struct Layer {
    weight: f32,
}

struct Model {
    fc1: Layer,
    loss: f64,
}

fn loss_of(model: &Model) -> f64 {
    model.loss
}

#[experiment]
fn train(#[config] hp: &Hp, run_name: String) -> String {
    let model = Model {
        fc1: Layer { weight: 0.5 },
        loss: 0.25,
    };
    // Named after the expression; logged by reference, so nothing is moved.
    #[log(text)]
    run_name;
    #[log(param)]
    hp.optimizer;
    #[log(param)]
    hp.layers;
    #[log(metric)]
    model.fc1.weight;
    #[log(metric)]
    &model.loss;
    #[log(metric, name = "loss/twice")]
    loss_of(&model) * 2.0;
    #[log(text, name = "summary")]
    format!("{} layers", hp.layers.len());
    format!("{run_name} with {}", hp.optimizer)
}

fn main() {
    let root = std::env::temp_dir().join(format!("labbook-ui-expressions-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &root);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    let hp = Hp {
        optimizer: "adam".into(),
        layers: vec![64, 10],
    };
    assert_eq!(train(&hp, "probe".into()), "probe with adam");

    let run = std::fs::read_dir(root.join("train"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.is_dir())
        .unwrap();
    for file in [
        "text/run_name.jsonl",
        "text/summary.jsonl",
        "metrics/model.fc1.weight.jsonl",
        "metrics/model.loss.jsonl",
        "metrics/loss/twice.jsonl",
    ] {
        assert!(run.join(file).is_file(), "{file}");
    }
    let params = std::fs::read_to_string(run.join("params.json")).unwrap();
    assert!(params.contains("hp.optimizer") && params.contains("hp.layers"), "{params}");
    std::fs::remove_dir_all(&root).unwrap();
}
