//! The prelude's derives work without a direct `serde` dependency, `#[serde]` attributes too.

use labbook::prelude::*;

#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename_all = "kebab-case")]
struct Hp {
    #[serde(rename = "learning-rate")]
    lr: f64,
    batch_size: usize,
    #[serde(default)]
    schedule: Schedule,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
enum Schedule {
    #[default]
    #[serde(rename = "constant")]
    Constant,
    #[serde(rename = "cosine")]
    Cosine { warmup: u32 },
}

#[experiment]
fn train(#[config] hp: &Hp) -> f64 {
    #[log(param)]
    let schedule = &hp.schedule;
    let _ = schedule;
    hp.lr * hp.batch_size as f64
}

fn main() {
    let root = std::env::temp_dir().join(format!("labbook-ui-serde-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &root);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    let hp = Hp {
        lr: 0.5,
        batch_size: 4,
        schedule: Schedule::Cosine { warmup: 10 },
    };
    assert_eq!(train(&hp), 2.0);
    std::fs::remove_dir_all(&root).unwrap();
}
