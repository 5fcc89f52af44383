//! Fonts for row values in any script. egui's built-in font (Ubuntu-Light)
//! covers Latin, Greek and Cyrillic, not CJK, Thai or emoji; this adds system
//! fonts as fallbacks when they are installed (Debian: fonts-dejavu-core,
//! fonts-noto-cjk, fonts-thai-tlwg, fonts-noto-color-emoji) and silently does
//! without them otherwise.

use egui::FontFamily;
use egui::epaint::text::{FontData, FontInsert, FontPriority, InsertFontFamily};

/// Fallback fonts, first present file of each group wins: (name, candidate paths).
const FALLBACKS: [(&str, &[&str]); 4] = [
    (
        // Symbols egui's Ubuntu-Light lacks (box drawing, geometric shapes).
        "dejavu",
        &["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"],
    ),
    (
        "noto-cjk",
        &[
            "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
            "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
            "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
        ],
    ),
    (
        "thai",
        &[
            "/usr/share/fonts/truetype/tlwg/Loma.ttf",
            "/usr/share/fonts/opentype/tlwg/Loma.otf",
            "/usr/share/fonts/truetype/tlwg/Garuda.ttf",
            "/usr/share/fonts/opentype/tlwg/Garuda.otf",
        ],
    ),
    (
        // egui's built-in fonts have no emoji.
        "emoji",
        &["/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"],
    ),
];

/// The fallback font files found on this machine: (name, path).
pub fn available() -> Vec<(&'static str, &'static str)> {
    FALLBACKS
        .iter()
        .filter_map(|(name, paths)| {
            paths
                .iter()
                .find(|p| std::path::Path::new(p).is_file())
                .map(|p| (*name, *p))
        })
        .collect()
}

/// Adds every available fallback font to `ctx` (after egui's own fonts);
/// returns the names of the fonts added.
pub fn install(ctx: &egui::Context) -> Vec<&'static str> {
    let mut added = Vec::new();
    for (name, path) in available() {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let families = [FontFamily::Proportional, FontFamily::Monospace]
            .into_iter()
            .map(|family| InsertFontFamily {
                family,
                priority: FontPriority::Lowest,
            })
            .collect();
        ctx.add_font(FontInsert::new(name, FontData::from_owned(bytes), families));
        added.push(name);
    }
    added
}
