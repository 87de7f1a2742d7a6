//! The smallest labbook program: a config, a loop that logs a metric every 10 steps, a final
//! metric and a text. Run it with `cargo run --example quickstart`, then look in
//! `runs/quickstart/<id>/`.

use labbook::prelude::*;

#[derive(Serialize)]
struct Hparams {
    lr: f64,
    steps: usize,
}

#[experiment(name = "quickstart")]
fn train(#[config] hp: &Hparams) -> anyhow::Result<f64> {
    let mut total = 0.0;
    for i in 0..hp.steps {
        #[log(metric, every = 10)]
        let loss = (-hp.lr * i as f64).exp();
        total += loss;
    }
    #[log(metric)]
    let total_loss = total;
    #[log(text, name = "summary")]
    format!("finished {} steps, total loss {total_loss:.3}", hp.steps);
    Ok(total)
}

fn main() -> anyhow::Result<()> {
    let total = train(&Hparams {
        lr: 0.05,
        steps: 200,
    })?;
    println!("total loss {total:.3}");
    Ok(())
}
