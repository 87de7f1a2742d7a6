use labbook::prelude::*;

#[experiment]
fn train(epochs: usize, batches: usize) -> usize {
    let mut seen = 0;
    for epoch in 0..epochs {
        for batch in 0..batches {
            #[log(metric, every = 2)]
            let loss = 1.0 / (epoch * batches + batch + 1) as f64;
            seen += 1;
            let _ = loss;
        }
        if epoch % 2 == 0 {
            #[log(metric, name = "eval/accuracy")]
            let accuracy = 0.9;
            let _ = accuracy;
        } else {
            #[log(text, name = "eval/skipped")]
            format!("epoch {epoch}");
        }
        match epoch {
            0 => {
                #[log(param)]
                let first_epoch = epoch;
                let _ = first_epoch;
            }
            _ => {
                #[log(metric)]
                let epoch_count = epoch;
                let _ = epoch_count;
            }
        }
        {
            #[log(metric)]
            let seen_so_far = seen;
            let _ = seen_so_far;
        }
    }
    let mut left = 3;
    while left > 0 {
        #[log(metric)]
        let remaining = left;
        left -= remaining.min(1);
    }
    loop {
        #[log(metric)]
        let last = seen;
        let _ = last;
        break;
    }
    seen
}

fn main() {
    let root = std::env::temp_dir().join(format!("labbook-ui-nested-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &root);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    assert_eq!(train(3, 4), 12);
    std::fs::remove_dir_all(&root).unwrap();
}
