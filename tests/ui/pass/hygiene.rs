// Generated code uses absolute paths only: it compiles next to modules named
// `core` and `std`, and inside a module without the prelude.
#![allow(dead_code)]

mod core {}
mod std {}

mod no_prelude {
    #![no_implicit_prelude]

    #[::sgrad::differentiable(x)]
    pub fn f(x: f64, c: f64) -> f64 {
        let t = x * c;
        if t > 0.0 {
            return ::sgrad::sg_for!(x, t.sin()) + ::sgrad::sg(t) * x;
        }
        t.exp() + x.powi(2)
    }

    pub fn g() -> impl ::core::ops::Fn(f64, f64) -> (f64, (f64, f64)) {
        ::sgrad::grad!(|a: f64, b: f64| a * b + ::sgrad::sg_for!(a, a.ln()))
    }
}

#[sgrad::differentiable]
fn h(x: f64, y: f64) -> f64 {
    x.atan2(y)
}

fn main() {
    let (v, dx) = no_prelude::f_grad(1.0, 2.0);
    assert_eq!(v, no_prelude::f(1.0, 2.0));
    assert_eq!(dx, 2.0); // `t.sin()` is blocked for `x`, `sg(t)` is the constant 2
    let (w, (da, db)) = no_prelude::g()(2.0, 3.0);
    assert_eq!(w, 6.0 + 2.0_f64.ln());
    assert_eq!((da, db), (3.0, 2.0));
    let (_, (hx, hy)) = h_grad(1.0, 1.0);
    assert!((hx - 0.5).abs() < 1e-12 && (hy + 0.5).abs() < 1e-12);
}
