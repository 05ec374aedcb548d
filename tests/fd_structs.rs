//! Parameter structs (`#[derive(Differentiable)]`) as differentiation
//! variables, against central differences of the program with its blocked
//! sites frozen and against gradients written by hand.

#![allow(clippy::needless_range_loop)]

use sgrad::{differentiable, sg, sg_for, Differentiable};

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Mlp {
    w1: Vec<Vec<f64>>,
    b1: Vec<f64>,
    w2: Vec<f64>,
    b2: f64,
    #[sgrad(skip)]
    hidden: usize,
}

fn mlp(h: usize, d: usize, seed: f64) -> Mlp {
    let mut t = seed;
    let mut next = || {
        t = (t * 7.31 + 0.17).fract();
        t - 0.5
    };
    Mlp {
        w1: (0..h).map(|_| (0..d).map(|_| next()).collect()).collect(),
        b1: (0..h).map(|_| next()).collect(),
        w2: (0..h).map(|_| next()).collect(),
        b2: next(),
        hidden: h,
    }
}

#[differentiable(net)]
fn mse(net: &Mlp, xs: &[Vec<f64>], ys: &[f64]) -> f64 {
    let mut loss = 0.0;
    for n in 0..xs.len() {
        let mut out = net.b2;
        for j in 0..net.hidden {
            let mut a = net.b1[j];
            for i in 0..xs[n].len() {
                a += net.w1[j][i] * xs[n][i];
            }
            out += net.w2[j] * a.tanh();
        }
        let r = out - ys[n];
        loss += r * r;
    }
    loss / xs.len() as f64
}

/// Central differences of `f` at `p`, parameter by parameter.
fn numeric<P: Differentiable>(p: &P, f: impl Fn(&P) -> f64) -> Vec<f64> {
    let n = p.num_params();
    (0..n)
        .map(|k| {
            let h = 1e-6;
            let shifted = |d: f64| {
                let mut q = p.clone();
                let mut i = 0;
                q.map_params(&mut |v| {
                    i += 1;
                    if i - 1 == k {
                        v + d
                    } else {
                        v
                    }
                });
                f(&q)
            };
            (shifted(h) - shifted(-h)) / (2.0 * h)
        })
        .collect()
}

fn assert_close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-6 * (1.0 + x.abs().max(y.abs())),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

fn data() -> (Vec<Vec<f64>>, Vec<f64>) {
    let xs = vec![
        vec![0.3, -1.2, 0.5],
        vec![1.1, 0.4, -0.7],
        vec![-0.2, 0.9, 1.3],
    ];
    let ys = vec![0.5, -0.3, 1.2];
    (xs, ys)
}

#[test]
fn mlp_against_differences() {
    let net = mlp(4, 3, 0.37);
    let (xs, ys) = data();
    let (v, g) = mse_grad(&net, &xs, &ys);
    assert_eq!(v.to_bits(), mse(&net, &xs, &ys).to_bits());
    assert_eq!(g.hidden, 4);
    assert_close(&g.params(), &numeric(&net, |p| mse(p, &xs, &ys)), "mlp");
}

/// A linear Q-function over (state, action) features.
#[derive(Clone, Debug, Differentiable)]
struct Critic {
    w: Vec<f64>,
    b: f64,
}

/// A Gaussian policy's mean and log standard deviation, linear in the state.
#[derive(Clone, Debug, Differentiable)]
struct Actor {
    mean: Vec<f64>,
    log_std: f64,
}

#[differentiable(critic)]
fn q_value(critic: &Critic, s: &[f64], a: f64) -> f64 {
    let mut q = critic.b + critic.w[s.len()] * a;
    for i in 0..s.len() {
        q += critic.w[i] * s[i];
    }
    q.tanh() * 2.0 + 0.1 * a * a
}

/// SAC's actor and critic losses in one function: the critic's TD error
/// against a stopped target, and the actor's loss through the critic with
/// the critic blocked for its own gradient (`sg_for!(critic, ..)`).
#[differentiable(critic, actor)]
fn sac(critic: &Critic, actor: &Actor, s: &[f64], a: f64, r: f64, s2: &[f64], eps: f64) -> f64 {
    let mut mu = 0.0;
    for i in 0..s.len() {
        mu += actor.mean[i] * s[i];
    }
    let act = mu + actor.log_std.exp() * eps;
    let alpha = 0.2;
    let log_pi = -0.5 * eps * eps - actor.log_std;
    let q = q_value(critic, s, a);
    let target = r + 0.99 * q_value(critic, s2, act);
    let critic_loss = (q - sg(target)).powi(2);
    let actor_loss = alpha * log_pi - sg_for!(critic, q_value(critic, s, act));
    critic_loss + actor_loss
}

#[test]
fn sac_losses() {
    let critic = Critic {
        w: vec![0.3, -0.2, 0.5, 0.4],
        b: 0.1,
    };
    let actor = Actor {
        mean: vec![0.2, -0.4, 0.1],
        log_std: -0.3,
    };
    let (s, s2) = ([0.5, -1.0, 0.3], [0.1, 0.7, -0.4]);
    let (a, r, eps) = (0.4, 1.5, 0.8);
    let (v, (gc, ga)) = sac_grad(&critic, &actor, &s, a, r, &s2, eps);
    assert_eq!(
        v.to_bits(),
        sac(&critic, &actor, &s, a, r, &s2, eps).to_bits()
    );
    // The frozen programs: the critic's gradient sees the target and the
    // actor's loss as constants; the actor's, only the stopped target.
    let critic_part = |c: &Critic| {
        let q = q_value(c, &s, a);
        let mu: f64 = (0..3).map(|i| actor.mean[i] * s[i]).sum();
        let act = mu + actor.log_std.exp() * eps;
        let target = r + 0.99 * q_value(&critic, &s2, act);
        (q - target).powi(2)
    };
    let actor_part = |p: &Actor| {
        let mu: f64 = (0..3).map(|i| p.mean[i] * s[i]).sum();
        let act = mu + p.log_std.exp() * eps;
        let log_pi = -0.5 * eps * eps - p.log_std;
        0.2 * log_pi - q_value(&critic, &s, act)
    };
    assert_close(&gc.params(), &numeric(&critic, critic_part), "critic");
    assert_close(&ga.params(), &numeric(&actor, actor_part), "actor");
}

#[derive(Clone, Debug, Differentiable)]
struct Layer {
    w: Vec<Vec<f64>>,
    b: Vec<f64>,
}

#[derive(Clone, Debug, Differentiable)]
struct Deep {
    l1: Layer,
    l2: Layer,
    scale: [f64; 2],
}

#[differentiable(layer)]
fn layer_sum(layer: &Layer, x: &[f64]) -> f64 {
    let mut s = 0.0;
    for (j, row) in layer.w.iter().enumerate() {
        let mut a = layer.b[j];
        for i in 0..x.len() {
            a += row[i] * x[i];
        }
        s += a.tanh();
    }
    s
}

/// Nested structs: fields of fields, a whole nested struct passed to a
/// helper, an array field, by value.
#[differentiable(net)]
fn deep(net: Deep, x: &[f64]) -> f64 {
    let first = layer_sum(&net.l1, x);
    let mut second = 0.0;
    for j in 0..net.l2.b.len() {
        second += (net.l2.w[j][0] * first + net.l2.b[j]).sin();
    }
    // `net.l1` is passed whole above and read by field here: the two parts
    // of its gradient add up.
    net.scale[0] * first + net.scale[1] * second + net.l1.b[1] * net.l1.w[2][1]
}

#[test]
fn nested_structs() {
    let layer = |h: usize, d: usize, t: f64| Layer {
        w: (0..h)
            .map(|j| (0..d).map(|i| ((j * d + i) as f64 * t).sin()).collect())
            .collect(),
        b: (0..h).map(|j| (j as f64 * t).cos() * 0.5).collect(),
    };
    let net = Deep {
        l1: layer(3, 2, 0.7),
        l2: layer(2, 1, 1.3),
        scale: [0.8, -1.1],
    };
    let x = [0.4, -0.9];
    let (v, g) = deep_grad(net.clone(), &x);
    assert_eq!(v.to_bits(), deep(net.clone(), &x).to_bits());
    assert_close(&g.params(), &numeric(&net, |p| deep(p.clone(), &x)), "deep");
}

impl Critic {
    /// A method differentiated with respect to its receiver and an argument.
    #[differentiable(self, a)]
    fn value(&self, s: &[f64], a: f64) -> f64 {
        let mut q = self.b;
        for i in 0..s.len() {
            q += self.w[i] * s[i];
        }
        (q * a).sin()
    }

    /// Another calling it on `self`: the receiver's gradient composes.
    #[differentiable(self)]
    fn twice(&self, s: &[f64]) -> f64 {
        self.value(s, 0.5) * self.value(s, 1.5) + self.b * self.b
    }
}

#[test]
fn methods_with_self() {
    let c = Critic {
        w: vec![0.3, -0.2, 0.5],
        b: 0.1,
    };
    let s = [0.5, -1.0, 0.3];
    let (v, (gc, ga)) = c.value_grad(&s, 0.7);
    assert_eq!(v.to_bits(), c.value(&s, 0.7).to_bits());
    assert_close(&gc.params(), &numeric(&c, |p| p.value(&s, 0.7)), "self");
    let h = 1e-6;
    let da = (c.value(&s, 0.7 + h) - c.value(&s, 0.7 - h)) / (2.0 * h);
    assert_close(&[ga], &[da], "a");
    let (_, g) = c.twice_grad(&s);
    assert_close(&g.params(), &numeric(&c, |p| p.twice(&s)), "twice");
}

/// A method of a parameter struct called on a differentiation variable
/// (`critic.value(..)`) composes through the method's pullback.
#[differentiable(critic, a)]
fn through_method(critic: &Critic, s: &[f64], a: f64) -> f64 {
    let q = critic.value(s, a);
    q * q + critic.twice(s)
}

#[test]
fn method_on_a_struct_variable() {
    let c = Critic {
        w: vec![0.3, -0.2, 0.5],
        b: 0.1,
    };
    let s = [0.5, -1.0, 0.3];
    let (v, (gc, ga)) = through_method_grad(&c, &s, 0.7);
    assert_eq!(v.to_bits(), through_method(&c, &s, 0.7).to_bits());
    assert_close(
        &gc.params(),
        &numeric(&c, |p| through_method(p, &s, 0.7)),
        "critic",
    );
    let h = 1e-6;
    let da = (through_method(&c, &s, 0.7 + h) - through_method(&c, &s, 0.7 - h)) / (2.0 * h);
    assert_close(&[ga], &[da], "a");
}

/// The derive's arithmetic, by hand.
#[test]
fn parameter_arithmetic() {
    let mut a = Critic {
        w: vec![1.0, 2.0],
        b: 3.0,
    };
    let b = Critic {
        w: vec![0.5, -1.0],
        b: 2.0,
    };
    assert_eq!(a.num_params(), 3);
    assert_eq!(a.params(), vec![1.0, 2.0, 3.0]);
    assert_eq!(a.dot(&b), 0.5 - 2.0 + 6.0);
    assert_eq!(b.norm(), (0.25f64 + 1.0 + 4.0).sqrt());
    a.axpy(2.0, &b);
    assert_eq!(a.params(), vec![2.0, 0.0, 7.0]);
    a.scale(0.5);
    a.accumulate(&b);
    assert_eq!(a.params(), vec![1.5, -1.0, 5.5]);
    assert_eq!(a.zeros_like().params(), vec![0.0; 3]);
    let net = mlp(2, 2, 0.1);
    let z = net.zeros_like();
    assert_eq!((z.hidden, z.num_params()), (2, 2 * 2 + 2 + 2 + 1));
}

/// `grad!` on a closure taking a parameter struct.
#[test]
fn closure_with_a_struct() {
    let c = Critic {
        w: vec![0.3, -0.2],
        b: 0.1,
    };
    let g = sgrad::grad!(
        |c: &Critic, x: f64| -> f64 { (c.w[0] * x + c.w[1]).exp() * c.b },
        wrt(c)
    );
    let (v, gc) = g(&c, 0.5);
    let e = (0.3f64 * 0.5 - 0.2).exp();
    assert_eq!(v, e * 0.1);
    assert_close(&gc.params(), &[e * 0.1 * 0.5, e * 0.1, e], "closure");
}

/// A skipped integer field used as a number: through `sg`, it carries no
/// derivative (the macro cannot see that the field is skipped).
#[differentiable(net)]
fn mean_output(net: &Mlp) -> f64 {
    let mut s = net.b2;
    for j in 0..net.hidden {
        s += net.w2[j];
    }
    s / sg(net.hidden as f64)
}

#[test]
fn skipped_integer_field_as_a_number() {
    let net = mlp(3, 2, 0.2);
    let (v, g) = mean_output_grad(&net);
    assert_eq!(v.to_bits(), mean_output(&net).to_bits());
    assert_close(&g.params(), &numeric(&net, mean_output), "mean");
}

/// Rows of a struct's matrix handed to the runtime's `dot` by reference.
#[differentiable(net)]
fn rows_by_reference(net: &Mlp, x: &[f64]) -> f64 {
    let mut s = net.b2;
    for j in 0..net.hidden {
        s += net.w2[j] * (sgrad::dot(&net.w1[j], x) + net.b1[j]).tanh();
    }
    s
}

#[test]
fn struct_rows_by_reference() {
    let net = mlp(3, 2, 0.4);
    let x = [0.3, -0.8];
    let (v, g) = rows_by_reference_grad(&net, &x);
    assert_eq!(v.to_bits(), rows_by_reference(&net, &x).to_bits());
    assert_close(
        &g.params(),
        &numeric(&net, |p| rows_by_reference(p, &x)),
        "rows",
    );
}

fn square_of(v: &f64) -> f64 {
    v * v
}

/// `&net.b1[j]` read as a reference to a number, and the field computed with
/// too: the shape guessed from the reference (a row) must not change the
/// derivative.
#[differentiable(net)]
fn element_by_reference(net: &Mlp) -> f64 {
    let plain = square_of(sg(&net.b1[0]));
    net.b1[1] * net.b1[0] + net.b1[0] * plain
}

#[test]
fn element_by_reference_keeps_its_derivative() {
    let net = mlp(3, 2, 0.6);
    let (v, g) = element_by_reference_grad(&net);
    assert_eq!(v.to_bits(), element_by_reference(&net).to_bits());
    // Frozen: `plain` is a constant.
    let plain = net.b1[0] * net.b1[0];
    let frozen = |p: &Mlp| p.b1[1] * p.b1[0] + p.b1[0] * plain;
    assert_close(&g.params(), &numeric(&net, frozen), "element");
}

/// A method of a trait impl: `#[differentiable]` on the impl puts the
/// generated functions in an inherent impl beside it.
trait Energy<T> {
    fn energy(&self, x: T) -> T;
    fn name(&self) -> &'static str;
}

#[derive(Clone, Debug, Differentiable)]
struct Spring {
    k: f64,
    rest: f64,
}

#[differentiable]
impl Energy<f64> for Spring {
    #[differentiable(self, x)]
    fn energy(&self, x: f64) -> f64 {
        let d = x - self.rest;
        0.5 * self.k * d * d + sg(self.k) * (x * x).sin()
    }

    fn name(&self) -> &'static str {
        "spring"
    }
}

/// A caller composing through the trait method, by method-call syntax.
#[differentiable(s)]
fn two_springs(s: &Spring, x: f64) -> f64 {
    s.energy(x) * s.energy(x + 1.0)
}

#[test]
fn a_method_of_a_trait_impl() {
    let s = Spring { k: 1.5, rest: 0.25 };
    let x = 0.8;
    let (v, (gs, gx)) = s.energy_grad(x);
    assert_eq!(v, s.energy(x));
    assert_eq!(s.name(), "spring");
    // By hand: sg(k) holds the second term's k constant.
    let d = x - s.rest;
    assert_close(&[gs.k, gs.rest], &[0.5 * d * d, -s.k * d], "d self");
    assert_close(&[gx], &[s.k * d + s.k * (x * x).cos() * 2.0 * x], "d x");
    // The caller against differences, the sg site frozen at `s.k`.
    let k0 = s.k;
    let frozen = |t: &Spring, x: f64| {
        let d = x - t.rest;
        0.5 * t.k * d * d + k0 * (x * x).sin()
    };
    let (_, g) = two_springs_grad(&s, x);
    let want = numeric(&s, |t| frozen(t, x) * frozen(t, x + 1.0));
    assert_close(&g.params(), &want, "caller");
}
