use labbook::prelude::*;

#[experiment]
fn train() {
    let mut global_step: u64 = 0;
    for epoch in 0..3usize {
        for _ in 0..5 {
            global_step += 1;
            #[log(metric, step = global_step)]
            let loss = 1.0 / global_step as f64;
            let _ = loss;
        }
        #[log(metric, step = epoch)]
        let epoch_loss = 0.1 * epoch as f64;
        #[log(metric, step = epoch * 5, every = 2)]
        let shifted = epoch as f32;
        let _ = (epoch_loss, shifted);
    }
}

fn main() {
    let root = std::env::temp_dir().join(format!("labbook-ui-step-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &root);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    train();
    std::fs::remove_dir_all(&root).unwrap();
}
