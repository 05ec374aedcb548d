use sgrad::sg_for;

fn main() {
    let x = 1.0_f64;
    let _ = sg_for!(x, x * 2.0);
}
