use sgrad::{differentiable, sg_for};

// 65 variables, each blocked at its own `sg_for!` site: 65 sweep classes.
#[differentiable]
fn f(
    x0: f64,
    x1: f64,
    x2: f64,
    x3: f64,
    x4: f64,
    x5: f64,
    x6: f64,
    x7: f64,
    x8: f64,
    x9: f64,
    x10: f64,
    x11: f64,
    x12: f64,
    x13: f64,
    x14: f64,
    x15: f64,
    x16: f64,
    x17: f64,
    x18: f64,
    x19: f64,
    x20: f64,
    x21: f64,
    x22: f64,
    x23: f64,
    x24: f64,
    x25: f64,
    x26: f64,
    x27: f64,
    x28: f64,
    x29: f64,
    x30: f64,
    x31: f64,
    x32: f64,
    x33: f64,
    x34: f64,
    x35: f64,
    x36: f64,
    x37: f64,
    x38: f64,
    x39: f64,
    x40: f64,
    x41: f64,
    x42: f64,
    x43: f64,
    x44: f64,
    x45: f64,
    x46: f64,
    x47: f64,
    x48: f64,
    x49: f64,
    x50: f64,
    x51: f64,
    x52: f64,
    x53: f64,
    x54: f64,
    x55: f64,
    x56: f64,
    x57: f64,
    x58: f64,
    x59: f64,
    x60: f64,
    x61: f64,
    x62: f64,
    x63: f64,
    x64: f64,
) -> f64 {
    sg_for!(x0, x0 * x0)
        + sg_for!(x1, x1 * x1)
        + sg_for!(x2, x2 * x2)
        + sg_for!(x3, x3 * x3)
        + sg_for!(x4, x4 * x4)
        + sg_for!(x5, x5 * x5)
        + sg_for!(x6, x6 * x6)
        + sg_for!(x7, x7 * x7)
        + sg_for!(x8, x8 * x8)
        + sg_for!(x9, x9 * x9)
        + sg_for!(x10, x10 * x10)
        + sg_for!(x11, x11 * x11)
        + sg_for!(x12, x12 * x12)
        + sg_for!(x13, x13 * x13)
        + sg_for!(x14, x14 * x14)
        + sg_for!(x15, x15 * x15)
        + sg_for!(x16, x16 * x16)
        + sg_for!(x17, x17 * x17)
        + sg_for!(x18, x18 * x18)
        + sg_for!(x19, x19 * x19)
        + sg_for!(x20, x20 * x20)
        + sg_for!(x21, x21 * x21)
        + sg_for!(x22, x22 * x22)
        + sg_for!(x23, x23 * x23)
        + sg_for!(x24, x24 * x24)
        + sg_for!(x25, x25 * x25)
        + sg_for!(x26, x26 * x26)
        + sg_for!(x27, x27 * x27)
        + sg_for!(x28, x28 * x28)
        + sg_for!(x29, x29 * x29)
        + sg_for!(x30, x30 * x30)
        + sg_for!(x31, x31 * x31)
        + sg_for!(x32, x32 * x32)
        + sg_for!(x33, x33 * x33)
        + sg_for!(x34, x34 * x34)
        + sg_for!(x35, x35 * x35)
        + sg_for!(x36, x36 * x36)
        + sg_for!(x37, x37 * x37)
        + sg_for!(x38, x38 * x38)
        + sg_for!(x39, x39 * x39)
        + sg_for!(x40, x40 * x40)
        + sg_for!(x41, x41 * x41)
        + sg_for!(x42, x42 * x42)
        + sg_for!(x43, x43 * x43)
        + sg_for!(x44, x44 * x44)
        + sg_for!(x45, x45 * x45)
        + sg_for!(x46, x46 * x46)
        + sg_for!(x47, x47 * x47)
        + sg_for!(x48, x48 * x48)
        + sg_for!(x49, x49 * x49)
        + sg_for!(x50, x50 * x50)
        + sg_for!(x51, x51 * x51)
        + sg_for!(x52, x52 * x52)
        + sg_for!(x53, x53 * x53)
        + sg_for!(x54, x54 * x54)
        + sg_for!(x55, x55 * x55)
        + sg_for!(x56, x56 * x56)
        + sg_for!(x57, x57 * x57)
        + sg_for!(x58, x58 * x58)
        + sg_for!(x59, x59 * x59)
        + sg_for!(x60, x60 * x60)
        + sg_for!(x61, x61 * x61)
        + sg_for!(x62, x62 * x62)
        + sg_for!(x63, x63 * x63)
        + sg_for!(x64, x64 * x64)
}

fn main() {
    let _ = f(
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
    );
}
