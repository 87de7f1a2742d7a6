//! `#[log(image)]`: pictures stored as PNG in `artifacts/images/<name>/<step>.png`.

use std::sync::OnceLock;

/// An image in memory: 8-bit grey, RGB or RGBA pixels, row by row.
#[derive(Debug)]
pub struct Image {
    width: u32,
    height: u32,
    channels: u8,
    pixels: Vec<u8>,
    png: OnceLock<Vec<u8>>,
}

impl Image {
    /// `pixels` holds `width × height × channels` bytes; `channels` is 1 (grey), 3 (RGB) or
    /// 4 (RGBA).
    pub fn new(width: u32, height: u32, channels: u8, pixels: Vec<u8>) -> Result<Image, String> {
        if !matches!(channels, 1 | 3 | 4) {
            return Err(format!("an image has 1, 3 or 4 channels, not {channels}"));
        }
        let expected = width as usize * height as usize * channels as usize;
        if pixels.len() != expected || expected == 0 {
            return Err(format!(
                "a {width}×{height} image with {channels} channels needs {expected} bytes, got {}",
                pixels.len()
            ));
        }
        Ok(Image {
            width,
            height,
            channels,
            pixels,
            png: OnceLock::new(),
        })
    }

    /// A greyscale image: `width × height` bytes, row by row.
    pub fn grey(width: u32, height: u32, pixels: Vec<u8>) -> Result<Image, String> {
        Image::new(width, height, 1, pixels)
    }

    /// A colour image: `width × height × 3` bytes, row by row, `r g b` a pixel.
    pub fn rgb(width: u32, height: u32, pixels: Vec<u8>) -> Result<Image, String> {
        Image::new(width, height, 3, pixels)
    }

    /// From floats in `[0, 1]` laid out height × width × channels (values outside are
    /// clamped, NaN is black).
    pub fn from_unit_floats(
        width: u32,
        height: u32,
        channels: u8,
        values: &[f32],
    ) -> Result<Image, String> {
        let pixels = values
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        Image::new(width, height, channels, pixels)
    }

    /// From floats laid out channels × height × width, as vision models keep them.
    pub fn from_chw_floats(
        channels: u8,
        height: u32,
        width: u32,
        values: &[f32],
    ) -> Result<Image, String> {
        let plane = height as usize * width as usize;
        if values.len() != plane * channels as usize {
            return Err(format!(
                "a {channels}×{height}×{width} tensor needs {} values",
                plane * channels as usize
            ));
        }
        let hwc: Vec<f32> = (0..plane)
            .flat_map(|p| (0..channels as usize).map(move |c| values[c * plane + p]))
            .collect();
        Image::from_unit_floats(width, height, channels, &hwc)
    }

    /// Its width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Its height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// 1 (grey) or 3 (RGB).
    pub fn channels(&self) -> u8 {
        self.channels
    }

    /// The bytes, row by row, `channels` a pixel.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The image as a PNG file, encoded once and shared by every backend.
    pub fn png(&self) -> &[u8] {
        self.png.get_or_init(|| {
            let mut out = Vec::new();
            let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
            encoder.set_color(match self.channels {
                1 => png::ColorType::Grayscale,
                3 => png::ColorType::Rgb,
                _ => png::ColorType::Rgba,
            });
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().expect("PNG header to memory");
            writer
                .write_image_data(&self.pixels)
                .expect("PNG data to memory");
            writer.finish().expect("PNG end to memory");
            out
        })
    }
}

/// Values a `#[log(image)]` site records: an [`Image`], or a dfdx tensor shaped `H×W`,
/// `H×W×C` or `C×H×W` with values in `[0, 1]` (feature `dfdx`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be logged as an `image`",
    label = "not an image",
    note = "an `image` takes a `labbook::Image` (built from raw grey/RGB bytes or floats in [0, 1]) or a dfdx tensor shaped H×W, H×W×C or C×H×W (feature `dfdx`)"
)]
pub trait ToImage {
    /// The value as an image; why it is not one, in one sentence.
    fn to_image(&self) -> Result<Image, String>;
}

impl ToImage for Image {
    fn to_image(&self) -> Result<Image, String> {
        Image::new(self.width, self.height, self.channels, self.pixels.clone())
    }
}

impl<T: ToImage + ?Sized> ToImage for &T {
    fn to_image(&self) -> Result<Image, String> {
        (**self).to_image()
    }
}

/// How a tensor's dimensions lay out an image: `H×W` (grey), `H×W×C` or `C×H×W` with C = 1,
/// 3 or 4 (a last axis of 1, 3 or 4 counts as channels first). Shared by every framework.
#[cfg(any(feature = "dfdx", feature = "candle", feature = "burn"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) height: u32,
    pub(crate) width: u32,
    pub(crate) channels: u8,
    /// `C×H×W` rather than `H×W×C`.
    pub(crate) channels_first: bool,
}

#[cfg(any(feature = "dfdx", feature = "candle", feature = "burn"))]
impl Layout {
    /// The layout of `dims`, or a sentence saying which shapes are images.
    pub(crate) fn of(dims: &[usize]) -> Result<Layout, String> {
        let is_channels = |n: usize| matches!(n, 1 | 3 | 4);
        let (height, width, channels, channels_first) = match *dims {
            [h, w] => (h, w, 1, false),
            [h, w, c] if is_channels(c) => (h, w, c, false),
            [c, h, w] if is_channels(c) => (h, w, c, true),
            [a, b, c] => {
                return Err(format!(
                    "a {a}×{b}×{c} tensor has no channel axis of 1, 3 or 4"
                ))
            }
            _ => {
                return Err(format!(
                    "an image tensor is H×W, H×W×C or C×H×W, not {dims:?}"
                ))
            }
        };
        let size = |n: usize| {
            u32::try_from(n).map_err(|_| format!("an image side of {n} pixels is too large"))
        };
        Ok(Layout {
            height: size(height)?,
            width: size(width)?,
            channels: channels as u8,
            channels_first,
        })
    }
}

/// The values of an integer image tensor as pixels: each must be in `0..=255`.
#[cfg(any(feature = "candle", feature = "burn"))]
pub(crate) fn integer_pixels(values: Vec<f64>) -> Result<Vec<u8>, String> {
    values
        .into_iter()
        .map(|v| {
            u8::try_from(v as i64)
                .map_err(|_| format!("an integer image tensor holds values in 0..=255, not {v}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_decodes_back_to_the_same_pixels() {
        let pixels: Vec<u8> = (0..6 * 4 * 3).map(|i| i as u8).collect();
        let image = Image::rgb(6, 4, pixels.clone()).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(image.png().to_vec()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (6, 4));
        assert_eq!(&buf[..info.buffer_size()], &pixels[..]);
    }

    #[test]
    fn chw_floats_are_reordered_and_bad_sizes_are_errors() {
        let image = Image::from_chw_floats(3, 1, 2, &[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]).unwrap();
        assert_eq!(image.pixels(), [255, 0, 0, 0, 255, 0]);
        assert!(Image::grey(2, 2, vec![0; 3]).is_err());
        assert!(Image::new(1, 1, 2, vec![0; 2]).is_err());
    }
}
