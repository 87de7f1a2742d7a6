use labbook::prelude::*;

#[derive(Serialize)]
struct Hp<T> {
    scale: T,
}

#[experiment]
fn train<T, I>(#[config] hp: &Hp<T>, losses: I) -> f64
where
    T: Serialize + Copy + Into<f64>,
    I: IntoIterator<Item = f64>,
{
    let mut total = 0.0;
    for loss in losses {
        #[log(metric)]
        let scaled = loss * hp.scale.into();
        total += scaled;
    }
    total
}

#[experiment]
fn with_lifetime<'a>(names: &'a [&'a str]) -> &'a str {
    #[log(metric)]
    let count = names.len();
    let _ = count;
    names[0]
}

fn main() {
    let root = std::env::temp_dir().join(format!("labbook-ui-generics-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &root);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    assert_eq!(train(&Hp { scale: 2.0f32 }, [0.5, 0.25]), 1.5);
    assert_eq!(with_lifetime(&["a", "b"]), "a");
    std::fs::remove_dir_all(&root).unwrap();
}
