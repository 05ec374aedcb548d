use sgrad::{differentiable, grad, sg, sg_for};

#[differentiable(x, y)]
fn f(x: f64, y: f64, c: f64) -> f64 {
    let t = x * y;
    sg_for!(x, t.sin()) + sg(y).exp() * x + c
}

#[differentiable]
fn g32(a: f32, b: f32) -> f32 {
    let (p, q): (f32, f32) = (a * 2.0, b.powi(3));
    let w = if a > 0.0 && b > 0.0 { p * q } else if a < -1.0 { f32::max(p, q) } else { -p };
    let k = w as f64;
    (k.tanh() as f32) + 1.5 * a
}

#[differentiable(x)]
fn with_loop(x: f64, n: usize) -> f64 {
    let mut acc = 0.0;
    for i in 0..n {
        acc += i as f64;
    }
    let msg = format!("{acc}");
    let _ = msg;
    x * acc + std::f64::consts::PI
}

fn main() {
    let v = f(1.0, 2.0, 3.0);
    let (v2, (dx, dy)) = f_grad(1.0, 2.0, 3.0);
    println!("{v} {v2} {dx} {dy}");
    println!("{:?} {:?}", g32(0.5, 0.7), g32_grad(0.5, 0.7));
    println!("{:?}", with_loop_grad(2.0, 4));
    let scale = 3.0;
    let h = grad!(|x: f64, y: f64| scale * x * y + sg_for!(y, x * y));
    println!("{:?}", h(2.0, 5.0));
    let h2 = grad!(|x: f64, y: f64| -> f64 { x * y }, wrt(y));
    println!("{:?}", h2(2.0, 5.0));
}
