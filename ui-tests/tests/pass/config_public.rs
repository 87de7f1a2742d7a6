//! `#[config(public = [...])]` keeps secret-looking fields visible; the others are redacted.
use labbook::prelude::*;

#[derive(Serialize)]
struct Tokenizer {
    eos_token: String,
    api_token: String,
}

#[derive(Serialize)]
struct Hp {
    tokenizer: Tokenizer,
    pad_token: String,
}

#[experiment(name = "config_public")]
fn train(#[config(public = ["tokenizer.eos_token", "pad_token"])] hp: &Hp) {
    let _ = hp;
}

fn main() {
    let dir = std::env::temp_dir().join(format!("labbook-ui-public-{}", std::process::id()));
    std::env::set_var("LABBOOK_DIR", &dir);
    std::env::set_var("LABBOOK_CONSOLE", "off");
    train(&Hp {
        tokenizer: Tokenizer {
            eos_token: "</s>".into(),
            api_token: "secret".into(),
        },
        pad_token: "<pad>".into(),
    });
    let text = std::fs::read_to_string(dir.join("config_public/1/metadata/config.json")).unwrap();
    for kept in ["</s>", "<pad>", "<redacted>"] {
        assert!(text.contains(kept), "{kept} not in {text}");
    }
    assert!(!text.contains("secret"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}
