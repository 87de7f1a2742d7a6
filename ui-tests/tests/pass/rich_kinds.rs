use labbook::prelude::*;

#[derive(Serialize, Deserialize, Default)]
struct State {
    weights: Vec<f32>,
}

#[experiment(resume = resume)]
fn train(resume: Option<u64>, notes: &std::path::Path) -> labbook::Result<()> {
    let mut state = State::default();
    let first = run().restore(&mut state)?.map_or(0, |epoch| epoch + 1);
    #[progress(name = "epochs")]
    for epoch in first..3 {
        state.weights = (0..100).map(|i| i as f32 * epoch as f32).collect();
        #[log(histogram, step = epoch)]
        &state.weights;
        #[log(image, name = "frame", step = epoch)]
        Image::grey(2, 2, vec![0, 64, 128, 255]).unwrap();
        #[progress]
        for batch in 0..4 {
            #[log(metric)]
            let loss = 1.0 / (batch + 1) as f64;
        }
        #[log(checkpoint, keep = 2, step = epoch)]
        &state;
    }
    #[log(artifact, name = "notes")]
    notes;
    Ok(())
}

fn main() {
    let dir = std::env::temp_dir().join(format!("labbook-ui-rich-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &dir);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    let notes = dir.join("notes.txt");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&notes, "hello").unwrap();
    train(None, &notes).unwrap();
    train(Some(1), &notes).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
