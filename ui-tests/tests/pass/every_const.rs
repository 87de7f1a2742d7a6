use labbook::prelude::*;

const LOG_EVERY: u64 = if cfg!(debug_assertions) { 5 } else { 5 };

mod settings {
    pub const EVAL_EVERY: u64 = 2;
}

#[experiment]
fn train() -> std::path::PathBuf {
    for i in 0..20u32 {
        #[log(metric, every = LOG_EVERY)]
        let loss = i;
        #[log(metric, every = settings::EVAL_EVERY)]
        let eval = i;
    }
    run().dir().unwrap().to_owned()
}

fn main() {
    let dir = std::env::temp_dir().join(format!("labbook-ui-every-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &dir);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    let run = train();
    let lines = |name: &str| {
        std::fs::read_to_string(run.join(format!("metrics/{name}.jsonl")))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!((lines("loss"), lines("eval")), (4, 10));
    std::fs::remove_dir_all(dir).unwrap();
}
