//! `labbook::config`: overrides of every kind of field, each error in the words a user sees,
//! and the overridden keys in `info.json`, read back with labbook's reader.

mod support;

use std::sync::{Mutex, MutexGuard};

use labbook::prelude::*;
use labbook::store::read::Store;
use labbook::{Config, ConfigError};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Hp {
    lr: f64,
    epochs: u32,
    shuffle: bool,
    name: String,
    layers: Vec<u32>,
    tags: Vec<String>,
    dropout: Option<f64>,
    optimizer: Optimizer,
    model: Model,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Model {
    depth: u32,
    activation: Activation,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Optimizer {
    Sgd,
    Adam,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Activation {
    Relu,
    Gelu,
    Leaky { slope: f64 },
}

fn defaults() -> Hp {
    Hp {
        lr: 0.1,
        epochs: 3,
        shuffle: true,
        name: "base".into(),
        layers: vec![128],
        tags: vec!["a".into()],
        dropout: None,
        optimizer: Optimizer::Sgd,
        model: Model {
            depth: 2,
            activation: Activation::Relu,
        },
    }
}

/// `load` records the overrides for the process's next runs: tests that load take turns.
fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn error(config: Config<Hp>) -> String {
    let _turn = exclusive();
    config.load().unwrap_err().to_string()
}

#[test]
fn nested_enum_bool_list_and_option_fields_take_overrides() {
    let _turn = exclusive();
    let hp = Config::new(defaults())
        .set_list(r#"lr=0.01,model.depth=4,layers=[64,32],name="x,y""#)
        .set("shuffle=false")
        .set("optimizer=adam")
        .set("model.activation=Gelu")
        .set("tags=[b,c]")
        .set("dropout=0.5")
        .set("epochs=7")
        .load()
        .unwrap();
    assert_eq!(
        hp,
        Hp {
            lr: 0.01,
            epochs: 7,
            shuffle: false,
            name: "x,y".into(),
            layers: vec![64, 32],
            tags: vec!["b".into(), "c".into()],
            dropout: Some(0.5),
            optimizer: Optimizer::Adam,
            model: Model {
                depth: 4,
                activation: Activation::Gelu,
            },
        }
    );
}

#[test]
fn later_sources_win_and_list_items_and_variant_fields_are_keys() {
    let _turn = exclusive();
    let hp = Config::new(defaults())
        .args(["--set", "lr=0.3", "--epochs", "9", "--set=layers.0=16"])
        .set_list("lr=0.2,model.activation={\"Leaky\":{\"slope\":0.1}}")
        .load()
        .unwrap();
    // `--set` (here from the arguments) beats `LABBOOK_SET`; `--epochs` is not labbook's.
    assert_eq!((hp.lr, hp.epochs, &hp.layers), (0.3, 3, &vec![16]));
    assert_eq!(hp.model.activation, Activation::Leaky { slope: 0.1 });
}

#[test]
fn a_toml_file_merges_under_the_settings() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hp.toml");
    std::fs::write(
        &file,
        "lr = 0.05\nepochs = 5\n[model]\ndepth = 8\nactivation = \"Gelu\"\n",
    )
    .unwrap();
    let _turn = exclusive();
    let hp = Config::new(defaults())
        .file(&file)
        .set("epochs=6")
        .load()
        .unwrap();
    assert_eq!((hp.lr, hp.epochs, hp.model.depth), (0.05, 6, 8));
    assert_eq!(hp.model.activation, Activation::Gelu);
    drop(_turn);

    std::fs::write(&file, "model = { width = 3 }\n").unwrap();
    assert_eq!(
        error(Config::new(defaults()).file(&file)),
        format!(
            "the config has no key `model.width` (given by --config {}); its keys are {KEYS}",
            file.display()
        )
    );
    std::fs::write(&file, "lr = \n").unwrap();
    let message = error(Config::new(defaults()).file(&file));
    assert!(
        message.starts_with(&format!(
            "cannot load the config file {} (given by --config {}): ",
            file.display(),
            file.display()
        )),
        "{message}"
    );
}

const KEYS: &str = "`dropout`, `epochs`, `layers`, `lr`, `model.activation`, `model.depth`, `name`, `optimizer`, `shuffle`, `tags`";

#[test]
fn each_mistake_is_one_sentence_naming_the_key_and_the_source() {
    let cases: [(Config<Hp>, String); 9] = [
        (
            Config::new(defaults()).set("model.width=3"),
            format!("the config has no key `model.width` (given by --set); its keys are {KEYS}"),
        ),
        (
            Config::new(defaults()).set_list("lr=0.1,learning_rate=0.1"),
            format!("the config has no key `learning_rate` (given by LABBOOK_SET); its keys are {KEYS}"),
        ),
        (
            Config::new(defaults()).set("epochs=1.5"),
            "config key `epochs` expects an integer, not `1.5` (given by --set)".into(),
        ),
        (
            Config::new(defaults()).set("lr=fast"),
            "config key `lr` expects a number, not `fast` (given by --set)".into(),
        ),
        (
            Config::new(defaults()).set("shuffle=yes"),
            "config key `shuffle` expects `true` or `false`, not `yes` (given by --set)".into(),
        ),
        (
            Config::new(defaults()).set("layers=[64,x]"),
            "config key `layers` expects a list such as `[1,2]`, not `[64,x]` (given by --set)".into(),
        ),
        (
            Config::new(defaults()).set("optimizer=adamw"),
            "config key `optimizer` cannot be `adamw` (given by --set): it is one of `sgd`, `adam`".into(),
        ),
        (
            Config::new(defaults()).set("lr"),
            "`lr` (given by --set) is not an override: write it as key=value, e.g. `lr=0.01` or `model.depth=4`".into(),
        ),
        (
            Config::new(defaults()).set("dropout=high"),
            "config key `dropout` cannot be `high` (given by --set): invalid type: string \"high\", expected f64".into(),
        ),
    ];
    for (config, expected) in cases {
        assert_eq!(error(config), expected);
    }
    assert_eq!(
        error(Config::new(defaults()).set_list("lr=0.2,depth")),
        "`depth` (given by LABBOOK_SET) is not an override: write it as key=value, e.g. `lr=0.01` or `model.depth=4`"
    );
    assert_eq!(
        error(Config::new(defaults()).args(["--set"])),
        "`--set` (given by --set) is not an override: write it as key=value, e.g. `lr=0.01` or `model.depth=4`"
    );
    assert_eq!(
        error(Config::new(defaults()).set("model.activation=Tanh")),
        "config key `model.activation` cannot be `Tanh` (given by --set): it is one of `Relu`, `Gelu`, `Leaky`"
    );
}

#[test]
fn defaults_that_are_not_a_struct_have_no_keys() {
    let _turn = exclusive();
    let message = Config::new(vec![1, 2]).set("a=1").load().unwrap_err();
    assert_eq!(
        message.to_string(),
        "the config's defaults must serialize as a struct (a map of keys) to take overrides, but they serialize as a list"
    );
    assert!(matches!(message, ConfigError::NotAStruct { .. }));
}

#[experiment(name = "config-overrides")]
fn train(#[config] hp: &Hp) -> labbook::Result<()> {
    #[log(metric)]
    let lr = hp.lr;
    Ok(())
}

#[test]
fn info_json_records_each_overridden_key_with_its_source() {
    support::store();
    let _turn = exclusive();
    let hp = Config::new(defaults())
        .set_list("lr=0.01,layers=[64,32]")
        .set("model.depth=4")
        .set("lr=0.02")
        .load()
        .unwrap();
    train(&hp).unwrap();
    let store = Store::from_env().unwrap();
    let runs = store.experiment("config-overrides").unwrap();
    let run = runs.last().unwrap();
    let info = run.info().unwrap();
    let overrides: Vec<_> = info
        .overrides
        .iter()
        .map(|(key, o)| (key.as_str(), o.value.as_str(), o.source.as_str()))
        .collect();
    assert_eq!(
        overrides,
        [
            ("layers", "[64,32]", "LABBOOK_SET"),
            ("lr", "0.02", "--set"),
            ("model.depth", "4", "--set"),
        ]
    );
    let config = labbook::store::read::flatten(&run.config().unwrap().unwrap());
    assert_eq!(config["lr"], 0.02);
    assert_eq!(config["model.depth"], 4);
}
