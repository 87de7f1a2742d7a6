use labbook::prelude::*;

#[experiment]
fn train() -> f64 {
    (0..3).for_each(|i| {
        #[log(metric)]
        let x = i;
        let _ = x;
    });
    let scale = 2.0;
    let scaled: Vec<f64> = (0..3)
        .map(move |i| {
            #[log(metric)]
            let scaled_loss = i as f64 * scale;
            scaled_loss
        })
        .collect();
    scaled.iter().sum()
}

fn main() {
    let root = std::env::temp_dir().join(format!("labbook-ui-closures-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &root);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    assert_eq!(train(), 6.0);
    std::fs::remove_dir_all(&root).unwrap();
}
