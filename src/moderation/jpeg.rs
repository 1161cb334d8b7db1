//! A JPEG decoded by libjpeg-turbo (MozJPEG's build of it, `mozjpeg-sys`, compiled from source
//! by `cc`) scaled in the DCT, on the calling thread. It is the fast path: `jpeg-decoder`, the
//! other decoder, starts a thread per colour component for every image and hands it each row
//! through a channel, which costs a third of its time at the working size (docs/MODERATION.md).
//!
//! libjpeg reports a fatal error through a callback that must not return, and anything odd in
//! the data (a premature end, a bad Huffman code, extra bytes) as a warning. Both are turned
//! into an unwind out of the library (`extern "C-unwind"`; the C code is built with unwind
//! tables), caught here, and answered [`Declined`]: the caller then decodes the file with
//! `jpeg-decoder`, whose verdict stands. So a file is accepted by this path only when libjpeg
//! decodes it without a single complaint, and every other file is judged as before.

use std::ffi::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use mozjpeg_sys as ffi;

/// Why libjpeg did not decode the file (for logs; the other decoder decides).
#[derive(Debug)]
pub struct Declined(pub String);

/// The payload of an unwind out of libjpeg: its message code.
struct Complaint(c_int);

/// libjpeg's fatal-error callback: unwinds to [`decode_scaled`].
unsafe extern "C-unwind" fn error_exit(cinfo: &mut ffi::jpeg_common_struct) {
    // SAFETY: libjpeg calls this with the structure whose `err` it was given, set below.
    let code = unsafe { cinfo.err.as_ref() }.map_or(0, |err| err.msg_code);
    resume_unwind(Box::new(Complaint(code)));
}

/// libjpeg's message callback: a warning (level -1: corrupt or missing data) unwinds like an
/// error; trace messages (0 and up) are dropped.
unsafe extern "C-unwind" fn emit_message(cinfo: &mut ffi::jpeg_common_struct, level: c_int) {
    if level < 0 {
        // SAFETY: as in `error_exit`.
        let code = unsafe { cinfo.err.as_ref() }.map_or(0, |err| err.msg_code);
        resume_unwind(Box::new(Complaint(code)));
    }
}

/// Pixels decoded: width, height and RGB rows (3 bytes a pixel), or grey (1 byte a pixel).
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    /// Samples per pixel: 3 (RGB) or 1 (grey).
    pub channels: u8,
    pub data: Vec<u8>,
}

/// Decodes the JPEG in `data` scaled by 1/`scale` (1, 2, 4 or 8) in the DCT, into RGB (grey
/// stays grey), allocating no more than `max_bytes` for the pixels; libjpeg's whole-image
/// buffers (a progressive image's coefficients) are held to it too (`max_memory_to_use`: past
/// it libjpeg fails, as it has no backing store). Only Huffman-coded images in
/// YCbCr, RGB or grey are taken; anything else, and any complaint of libjpeg's, is
/// [`Declined`].
pub fn decode_scaled(data: &[u8], scale: u32, max_bytes: u64) -> Result<Pixels, Declined> {
    // SAFETY: zeroed structures are what libjpeg expects before `jpeg_std_error` and
    // `jpeg_create_decompress` fill them (the C idiom is a zeroed stack variable).
    let mut err: ffi::jpeg_error_mgr = unsafe { std::mem::zeroed() };
    let mut cinfo: ffi::jpeg_decompress_struct = unsafe { std::mem::zeroed() };
    // SAFETY: `err` outlives `cinfo`'s use of it (both live until this function returns, and
    // `cinfo` is destroyed before). It is reached only through this pointer from here on, so
    // the callbacks set through it (after `jpeg_std_error` resets them) are what libjpeg reads.
    let err: *mut ffi::jpeg_error_mgr = unsafe { ffi::jpeg_std_error(&mut err) };
    unsafe {
        (*err).error_exit = Some(error_exit);
        (*err).emit_message = Some(emit_message);
    }
    cinfo.common.err = err;
    let created = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `cinfo` is zeroed with its error manager set, as creation requires.
        unsafe { ffi::jpeg_create_decompress(&mut cinfo) }
    }));
    if created.is_err() {
        return Err(Declined("libjpeg could not start".to_owned()));
    }
    // SAFETY: a created decompressor has its memory manager.
    if let Some(mem) = unsafe { cinfo.common.mem.as_mut() } {
        mem.max_memory_to_use =
            std::ffi::c_long::try_from(max_bytes).unwrap_or(std::ffi::c_long::MAX);
    }
    let decoded = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `cinfo` was created above and `data` outlives the decode.
        unsafe { decode_with(&mut cinfo, data, scale, max_bytes) }
    }));
    // SAFETY: created above; destroying after an unwind out of any call is what libjpeg's own
    // longjmp-based error handling does, and frees everything the decode allocated.
    unsafe { ffi::jpeg_destroy_decompress(&mut cinfo) };
    match decoded {
        Ok(result) => result,
        Err(payload) => match payload.downcast::<Complaint>() {
            Ok(complaint) => Err(Declined(format!("libjpeg message {}", complaint.0))),
            // Not libjpeg's: a panic in this code, passed on.
            Err(other) => resume_unwind(other),
        },
    }
}

/// The decode proper; libjpeg's complaints unwind out of it.
///
/// # Safety
/// `cinfo` is a created decompressor whose error manager unwinds; `data` outlives the call.
unsafe fn decode_with(
    cinfo: &mut ffi::jpeg_decompress_struct,
    data: &[u8],
    scale: u32,
    max_bytes: u64,
) -> Result<Pixels, Declined> {
    use ffi::J_COLOR_SPACE as Cs;
    let len = std::ffi::c_ulong::try_from(data.len())
        .map_err(|_| Declined("the file is too large".to_owned()))?;
    // SAFETY: the caller vouches for `cinfo` and `data`; libjpeg reads `len` bytes of it.
    let header = unsafe {
        ffi::jpeg_mem_src(cinfo, data.as_ptr(), len);
        ffi::jpeg_read_header(cinfo, 1)
    };
    // JPEG_HEADER_OK; tables alone or a suspension cannot be decoded.
    if header != 1 {
        return Err(Declined(format!("no image (header answer {header})")));
    }
    let channels = match cinfo.jpeg_color_space {
        Cs::JCS_YCbCr | Cs::JCS_RGB => 3,
        Cs::JCS_GRAYSCALE => 1,
        other => return Err(Declined(format!("colour space {other:?}"))),
    };
    cinfo.scale_num = 1;
    cinfo.scale_denom = scale;
    cinfo.out_color_space = if channels == 3 {
        Cs::JCS_RGB
    } else {
        Cs::JCS_GRAYSCALE
    };
    // SAFETY: a header was read; the output size is known from here.
    unsafe { ffi::jpeg_start_decompress(cinfo) };
    let (width, height) = (cinfo.output_width, cinfo.output_height);
    if cinfo.output_components != channels {
        return Err(Declined(format!(
            "{} components out",
            cinfo.output_components
        )));
    }
    let row = width as usize * channels as usize;
    let bytes = row as u64 * u64::from(height);
    if bytes > max_bytes {
        return Err(Declined(format!(
            "{width}×{height} is more than was planned"
        )));
    }
    let mut pixels = vec![0u8; row * height as usize];
    let mut rows = pixels.chunks_exact_mut(row.max(1));
    while cinfo.output_scanline < height {
        let Some(next) = rows.next() else {
            return Err(Declined("more rows than the image's height".to_owned()));
        };
        let mut pointers = [next.as_mut_ptr()];
        // SAFETY: one row pointer to `row` writable bytes, and libjpeg writes one row of
        // `output_width × output_components` = `row` bytes.
        let read = unsafe { ffi::jpeg_read_scanlines(cinfo, pointers.as_mut_ptr(), 1) };
        if read != 1 {
            return Err(Declined("a row was not read".to_owned()));
        }
    }
    // SAFETY: every row was read.
    unsafe { ffi::jpeg_finish_decompress(cinfo) };
    Ok(Pixels {
        width,
        height,
        channels: channels as u8,
        data: pixels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x * y) % 239) as u8])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg)
            .expect("encode");
        out.into_inner()
    }

    #[test]
    fn a_jpeg_decodes_at_each_scale() {
        let data = jpeg(640, 360);
        for (scale, size) in [
            (1, (640, 360)),
            (2, (320, 180)),
            (4, (160, 90)),
            (8, (80, 45)),
        ] {
            let px = decode_scaled(&data, scale, u64::MAX).expect("decodes");
            assert_eq!((px.width, px.height, px.channels), (size.0, size.1, 3));
            assert_eq!(px.data.len(), (size.0 * size.1 * 3) as usize);
        }
    }

    #[test]
    fn a_grey_jpeg_stays_grey() {
        let img = image::GrayImage::from_fn(200, 100, |x, y| image::Luma([((x + y) % 256) as u8]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg)
            .expect("encode");
        let px = decode_scaled(&out.into_inner(), 2, u64::MAX).expect("decodes");
        assert_eq!((px.width, px.height, px.channels), (100, 50, 1));
        assert_eq!(px.data.len(), 100 * 50);
    }

    #[test]
    fn cut_or_garbled_data_is_declined_not_decoded() {
        let data = jpeg(640, 360);
        for keep in [0.0, 0.1, 0.5, 0.97] {
            let cut = &data[..(data.len() as f64 * keep) as usize];
            assert!(decode_scaled(cut, 4, u64::MAX).is_err(), "kept {keep}");
        }
        let mut garbled = data.clone();
        let middle = garbled.len() / 2;
        for b in &mut garbled[middle..middle + 64] {
            *b = 0xFF;
        }
        assert!(decode_scaled(&garbled, 4, u64::MAX).is_err());
        assert!(decode_scaled(b"not a jpeg at all", 4, u64::MAX).is_err());
    }

    #[test]
    fn more_pixels_than_planned_are_declined() {
        let data = jpeg(640, 360);
        assert!(decode_scaled(&data, 1, 640 * 360 * 3 - 1).is_err());
        assert!(decode_scaled(&data, 1, 640 * 360 * 3).is_ok());
    }
}
