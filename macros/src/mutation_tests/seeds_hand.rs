//! Hand-written seeds: the control flow and data the bug reports are about.

// Hand-written seeds: the control flow and data the bug reports are about.

pub(super) const HAND_SEEDS: &str = r#"
#[differentiable(x)]
pub(super) fn loop_value_tuple(x: f64) -> f64 {
    let r = loop {
        if x > 0.0 {
            break (x, x);
        }
    };
    r.0
}

#[differentiable(s)]
pub(super) fn break_and_break_assign(s: f64, n: usize) -> f64 {
    let mut s = s;
    let mut k = 0;
    loop {
        k += 1;
        if k > n {
            break;
        }
        if s < 0.5 {
            continue;
        }
        break s -= 1.0;
    }
    s * s
}

#[differentiable(x)]
pub(super) fn loop_value_scalar(x: f64) -> f64 {
    let mut s = x;
    let v = loop {
        s = s * 0.5 + x;
        if s > 10.0 {
            break s * 2.0;
        }
        if s < 0.0 {
            break -s;
        }
    };
    v + s
}

#[differentiable(x)]
pub(super) fn loop_as_tail(x: f64) -> f64 {
    let mut s = x;
    loop {
        s *= 1.5;
        if s > 3.0 {
            break s.ln();
        }
    }
}

#[differentiable(x, y)]
pub(super) fn labeled_loops(x: f64, y: f64, n: usize) -> f64 {
    let mut s = 0.0;
    'outer: for i in 0..n {
        let mut t = x;
        'inner: for j in 0..n {
            if j > i {
                continue 'outer;
            }
            t = t * y + sg(t);
            if t > 100.0 {
                break 'outer;
            }
            if t < -100.0 {
                break 'inner;
            }
        }
        s += t;
    }
    s
}

#[differentiable(x)]
pub(super) fn labeled_loop_value(x: f64, n: usize) -> f64 {
    let mut s = x;
    let r = 'a: loop {
        for i in 0..n {
            s += x * i as f64;
            if s > 5.0 {
                break 'a s;
            }
        }
        break x;
    };
    r * s
}

#[differentiable(x)]
pub(super) fn return_in_loops(x: &[f64], t: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i];
        if s > t {
            return s * x[i];
        }
        let mut k = 0;
        while k < i {
            k += 1;
            if x[k] < 0.0 {
                return s;
            }
        }
    }
    loop {
        if s > 0.0 {
            return s.sqrt();
        }
        s += 1.0;
    }
}

#[differentiable(x)]
pub(super) fn while_break_continue(x: f64) -> f64 {
    let mut s = x;
    let mut i = 0;
    while i < 10 {
        i += 1;
        if s > 50.0 {
            break;
        }
        if i % 2 == 0 {
            continue;
        }
        s = s * s + 1.0;
    }
    s
}

#[differentiable(a, b)]
pub(super) fn tuples(a: f64, b: f64) -> f64 {
    let t = (a * b, a + b);
    let (p, q) = t;
    let mut u = (p, 1.0);
    u.1 += q * a;
    let (mut m, n) = (u.0, u.1);
    m *= n;
    m + t.0 * t.1
}

#[differentiable(x)]
pub(super) fn local_arrays(x: &[f64], n: usize) -> f64 {
    let mut v = Vec::new();
    for i in 0..n {
        v.push(x[i % x.len()] * i as f64);
    }
    let mut a = vec![0.0; n + 1];
    a[0] = x[0];
    for i in 1..n + 1 {
        a[i] = a[i - 1] * 0.5 + v[i - 1];
        a[i] += x[0];
    }
    let mut b = [0.0; 3];
    b[1] = a[n];
    b[2] -= b[1] * x[0];
    a.iter().sum::<f64>() + b[2] + v.len() as f64
}

#[differentiable(x, y)]
pub(super) fn stop_gradients(x: f64, y: f64) -> f64 {
    let z = sg_for!(x, x * y) + sg(y) * x;
    let w = sg_for!([x, y], z.exp());
    z * w + sg(z)
}

#[differentiable(x, y)]
pub(super) fn if_expressions(x: f64, y: f64) -> f64 {
    let z = if x > y {
        x
    } else if x < 0.0 {
        -x
    } else {
        y * x
    };
    let w = if z > 1.0 { z.ln() } else { 0.0 };
    if w > 0.5 { w * z } else { z - w }
}

#[differentiable(x)]
pub(super) fn closures(x: f64, c: f64) -> f64 {
    let f = |t: f64| t * 2.0 + c;
    let g = move |t: f64| {
        let mut s = t;
        for _ in 0..3 {
            s += c;
        }
        s
    };
    let k = g(c);
    x * f(c) + k * x
}

#[differentiable(x)]
pub(super) fn matches(x: f64, k: usize) -> f64 {
    let y = match k {
        0 => x,
        1 => x * x,
        2 | 3 => {
            if x > 0.0 {
                x.sqrt()
            } else {
                0.0
            }
        }
        _ => x.sin(),
    };
    let mut s = y;
    for i in 0..k {
        match i {
            0 => s += x,
            _ => break,
        }
    }
    s
}

#[differentiable(x)]
pub(super) fn nested_loop_values(x: f64) -> f64 {
    let r = loop {
        break loop {
            break x * 2.0;
        };
    };
    let q = 'b: {
        if r > 1.0 {
            break 'b r;
        }
        x
    };
    r + q
}

#[differentiable(x)]
pub(super) fn loop_with_early_exits(x: &[f64]) -> f64 {
    let mut i = 0;
    let mut s = 0.0;
    let last = loop {
        if i >= x.len() {
            return s;
        }
        s += x[i] * x[i];
        if s > 1.0 {
            break x[i];
        }
        i += 1;
    };
    s * last
}

#[differentiable(x)]
pub(super) fn iterators(x: &[f64], w: &[f64]) -> f64 {
    let mut s = 0.0;
    for (i, v) in x.iter().enumerate() {
        s += v * w[i];
    }
    for v in x.iter() {
        s += v.tanh();
    }
    for i in (0..x.len()).step_by(2) {
        s += x[i];
    }
    for i in (0..x.len()).rev() {
        if x[i] > 0.0 {
            break;
        }
        s *= x[i];
    }
    s + x.iter().sum::<f64>()
}

#[differentiable(w)]
pub(super) fn matrix(w: &[Vec<f64>], x: &[f64]) -> f64 {
    let mut h = vec![0.0; w.len()];
    for i in 0..w.len() {
        let row = &w[i];
        for j in 0..x.len() {
            h[i] += row[j] * x[j];
        }
        h[i] = h[i].tanh();
    }
    sgrad::log_sum_exp(&h) + w[0][0]
}

#[differentiable(x)]
pub(super) fn deferred_and_shadowed(x: f64, n: usize) -> f64 {
    let s;
    if n > 2 {
        s = x * 2.0;
    } else {
        s = x;
    }
    let x = s + x;
    let mut x = x * x;
    x += 1.0;
    x
}

#[differentiable]
pub(super) fn generic<T: Real>(x: T, y: T) -> T {
    let mut s = x;
    for _ in 0..3 {
        s = s * y + x;
        if s > y {
            break;
        }
    }
    s
}

#[differentiable(x; forward)]
pub(super) fn forward_loops(x: &[f64], w: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        if x[i] < 0.0 {
            continue;
        }
        s += (w * x[i]).tanh();
        if s > 3.0 {
            break;
        }
    }
    let r = loop {
        if s > 0.0 {
            break s * w;
        }
        s += 1.0;
    };
    if r > 1.0 { r.ln() } else { r * w }
}

#[differentiable(x, y; forward)]
pub(super) fn forward_scalars(x: f64, y: f64) -> f64 {
    let (a, b) = (x * y, sg(x) + y);
    let c = if a > b { a.exp() } else { b.powi(2) };
    sg_for!(y, c * x) + c
}

#[differentiable(x)]
pub(super) fn calls(x: f64, y: f64) -> f64 {
    let a = helper(x, y);
    let b = sgrad::sigmoid(x) + x.max(y) + x.powf(y);
    let c = Self::method(x) + lib::cube(x);
    a * b + c
}

#[differentiable(x)]
pub(super) fn while_loops(x: f64, tol: f64) -> f64 {
    let mut r = x;
    let mut n = 0;
    while r * r > tol {
        r = sg(r.sin()) * 0.5;
        n += 1;
        if n > 100 {
            return r;
        }
    }
    while let Some(k) = None::<usize> {
        r += k as f64;
    }
    r + x
}

#[differentiable(x)]
pub(super) fn statements_in_loops(x: f64, n: usize) -> f64 {
    let mut s = x;
    let mut t = 0.0;
    for i in 0..n {
        let u = s * x;
        if u > 2.0 {
            t += u;
            continue;
        } else if u < -2.0 {
            break;
        }
        s = u + t;
        if i == 3 {
            return s;
        }
    }
    s + t
}

#[differentiable(x)]
pub(super) fn arrays_in_loops_with_exits(x: &[f64], n: usize) -> f64 {
    let mut a = vec![0.0; n];
    let mut s = 0.0;
    'l: for i in 0..n {
        a[i] = x[i % x.len()] * s;
        for j in 0..i {
            if a[j] > 1.0 {
                continue 'l;
            }
            a[i] += a[j];
        }
        s += a[i];
        if s > 10.0 {
            break;
        }
    }
    a.push(s);
    a[0] * s
}

#[differentiable(x)]
pub(super) fn blocks_and_unary(x: f64, b: bool) -> f64 {
    let y = {
        let t = -x;
        t * t
    };
    let z = if !b { y as f32 as f64 } else { (y) };
    let arr = [x, y, z];
    arr[0] * arr[2] - arr.len() as f64
}

#[differentiable(x, y)]
pub(super) fn tuple_shapes(x: f64, y: f64) -> f64 {
    let mut t = (x, y);
    let u = if x > 0.0 { t } else { (y, x) };
    for _ in 0..3 {
        t = (t.1 * x, t.0);
        if t.0 > 1.0 {
            break;
        }
    }
    let (a, (b, c)) = (u.0, (t.0, t.1));
    let w = match 1 {
        0 => (a, b),
        _ => (b, c),
    };
    let n = ((x, y), w);
    w.0 * w.1 + a * c + n.0 .1
}

#[differentiable(x)]
pub(super) fn exits_in_nested_ifs(x: f64, n: usize) -> f64 {
    let mut s = x;
    if s > 1.0 {
        if x > 2.0 {
            return s;
        }
        s = s * x;
    }
    for i in 0..n {
        if s > 3.0 {
            if x > 0.5 {
                continue;
            }
            s += x;
        } else if s < -3.0 {
            if i > 2 {
                break;
            }
        }
        s = s * x;
    }
    s
}

#[differentiable(x)]
pub(super) fn clamp_or_return(x: f64) -> f64 {
    let mut s = x * x;
    if s > 1.0 {
        s -= 1.0;
    } else if s < -1.0 {
        return s;
    }
    s * x
}

#[differentiable(x)]
pub(super) fn shadowing_in_loops(x: f64, n: usize) -> f64 {
    let mut acc = 0.0;
    let s = x;
    for i in 0..n {
        let s = s * x + i as f64;
        let mut t = s;
        while t > 1.0 {
            let t2 = t * 0.5;
            t = t2;
        }
        acc += t;
        let acc = acc * 2.0;
        if acc > 10.0 {
            break;
        }
    }
    acc + s
}

#[differentiable(x)]
pub(super) fn let_else_and_if_let(x: f64, o: Option<f64>) -> f64 {
    let Some(k) = o else {
        return x;
    };
    let mut s = x * k;
    if let Some(v) = o {
        s += v;
    }
    while let Some(v) = o {
        s += v * x;
        break;
    }
    s
}

#[differentiable(w)]
pub(super) fn nested_storage(w: &[f64], n: usize) -> f64 {
    let mut m = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..n {
            m[i][j] = w[(i + j) % w.len()] * m[(i + n - 1) % n][j];
            if m[i][j] > 1.0 {
                continue;
            }
            m[i][j] += 1.0;
        }
    }
    let mut v = Vec::new();
    for i in 0..n {
        v.push(m[i][i]);
    }
    let mut total = 0.0;
    for k in 0..v.len() {
        total += v[k];
    }
    total
}
"#;

/// Small odd programs: exits and loop values in every position, storage
/// arrays moved and borrowed, labels reused or unknown, tuples carried,
/// parameters of rank 0 to 3 and of types that cannot be differentiated.
pub(super) const ODD_SEEDS: &str = r#"
#[differentiable(x)] fn o1(x: f64) -> f64 { let r = loop { break ('a: loop { break 'a x; }); }; r }
#[differentiable(x)] fn o2(x: f64) -> f64 { let mut s = x; loop { let f = || { s += 1.0; }; f(); break; } s }
#[differentiable(x)] fn o3(x: f64, n: usize) -> f64 { let mut s = x; for i in 0..n { let g = |t: f64| { return t; }; s = g(s); } s }
#[differentiable(x)] fn o4(x: f64, n: usize) -> f64 { let mut s = 0.0; for x in 0..n { s += x as f64; } s * x }
#[differentiable(x)] fn o5(x: f64) -> f64 { let a = vec![x; 3]; let b = a; b[0] * b[1] }
#[differentiable(x)] fn o6(x: f64) -> f64 { let mut a = vec![x]; a = vec![x, x * x]; a[1] }
#[differentiable(x)] fn o7(x: f64) -> f64 { let mut a = vec![x]; let r = &mut a; r[0] = 2.0 * x; a[0] }
#[differentiable(x)] fn o8(x: f64) -> f64 { let mut a = [[x; 2]; 2]; a[0][1] = x * x; a[1][0] + a[0][1] }
#[differentiable(x)] fn o9(x: f64) -> f64 { let mut a = vec![]; a.push((x, x)); a[0].0 }
#[differentiable(x)] fn o10(x: f64) -> f64 { let mut a = vec![x; 2]; for v in &mut a { *v *= x; } a[0] }
#[differentiable(x)] fn o11(x: f64) -> f64 { let s = loop {}; s }
#[differentiable(x)] fn o12(x: f64) -> f64 { loop { continue; } }
#[differentiable(x)] fn o13(x: f64) -> f64 { while true { return x; } x }
#[differentiable(x)] fn o14(x: f64) -> f64 { let v = 'a: { 'b: { break 'a x; } x * 2.0 }; v }
#[differentiable(x)] fn o15(x: f64) -> f64 { if x > 0.0 { return x } else { return -x } }
#[differentiable(x)] fn o16(x: f64) -> f64 { let y = return x; y }
#[differentiable(x)] fn o17(mut x: f64) -> f64 { x = x; (x) = x * 2.0; _ = x; x }
#[differentiable(x)] fn o18(x: f64) -> f64 { let (a, ..) = (x, x, x); let [b, c] = [x, a]; a * b * c }
#[differentiable(x, y)] fn o19(x: &[f64], y: &[f64]) -> f64 { let mut s = 0.0; for (i, (a, b)) in x.iter().zip(y.iter()).enumerate() { s += a * b * i as f64; } s }
#[differentiable(x)] fn o20(x: f64) -> f64 { x.iter().sum::<f64>() + x[0] }
#[differentiable(x, y)] fn o21(x: f64, y: f64) -> f64 { sg_for!(x, sg_for!(y, x * y)) + sg_for!([x, x], x) + sg_for!(z, x) }
#[differentiable(x)] fn o22(x: f64) -> f64 { sg(x, x) + sg() }
#[differentiable(x)] fn o23(x: &[f64]) -> f64 { x[0][0][0] }
#[differentiable(x)] fn o24(x: &[f64]) -> f64 { x[0] = 1.0; x[0] }
#[differentiable(x)] fn o25(x: f64) -> f64 { const C: f64 = 2.0; fn inner(y: f64) -> f64 { y } inner(x) * C }
#[differentiable(x)] fn o26(x: f64) -> f64 { let v = vec![x; 0]; v.iter().sum::<f64>() }
#[differentiable(x)] fn o27(x: f64) -> f64 { let mut s = x; loop { 'b: { if s > 1.0 { break 'b; } s += x; } break; } s }
#[differentiable(x)] fn o28(x: f64) -> f64 { let mut s = x; loop { 'b: { continue 'b; } break; } s }
#[differentiable(x)] fn o29(x: f64) -> f64 { let mut s = x; loop { s *= x; break 'nope; } s }
#[differentiable(x)] fn o30(x: f64) -> f64 { let mut s = x; 'a: loop { 'a: loop { s += x; break 'a; } break 'a; } s }
#[differentiable(x)] fn o31(x: f64) -> f64 { let mut s = x; 'a: loop { s += 1.0; loop { if s > 3.0 { break 'a; } continue 'a; } } s }
#[differentiable(x)] fn o32(x: f64) -> f64 { let mut s = x; let r = loop { if s > 3.0 { break s; } s += x; if s < 0.0 { return s; } }; r + s }
#[differentiable(x)] fn o33(x: f64) -> f64 { let mut s = x; let r = 'o: loop { loop { if s > 3.0 { break 'o s; } s += x; } }; r }
#[differentiable(x)] fn o34(x: f64) -> f64 { let mut s = x; let r = loop { loop { if s > 3.0 { break; } s += x; } break s * 2.0; }; r }
#[differentiable(x)] fn o35(x: f64, n: usize) -> f64 { let mut s = x; for i in 0..n { let r = loop { if s > 1.0 { break s; } continue; }; s = r; } s }
#[differentiable(x)] fn o36(x: f64, n: usize) -> f64 { let mut s = x; for i in 0..n { let r = loop { if s > 1.0 { break s; } return s; }; s = r * x; } s }
#[differentiable(x)] fn o37(x: f64, n: usize) -> f64 { let mut s = x; 'f: for i in 0..n { let r = loop { if s > 1.0 { break s; } continue 'f; }; s = r * x; } s }
#[differentiable(x)] fn o38(x: f64, n: usize) -> f64 { let mut a = vec![0.0; n]; for i in 0..n { a[i] = loop { if x > 0.0 { break x * i as f64; } }; } a[0] }
#[differentiable(x)] fn o39(x: f64, n: usize) -> f64 { let mut a = vec![0.0; n]; let v = loop { a[0] = x; if a[0] > 1.0 { break a[0]; } a.push(x); }; v + a[1] }
#[differentiable(x)] fn o40(x: f64) -> f64 { let t = (x, loop { break x; }); t.1 + loop { break t.0; } }
#[differentiable(x)] fn o41(x: f64) -> f64 { let mut s = x; while { s += 1.0; s < 3.0 } { s *= x; } s }
#[differentiable(x)] fn o42(x: f64) -> f64 { let mut s = x; while loop { break s < 3.0; } { s *= x; } s }
#[differentiable(x)] fn o43(x: f64, n: usize) -> f64 { let mut s = x; for i in 0..loop { break n; } { s *= x; } s }
#[differentiable(x)] fn o44(x: f64) -> f64 { let mut s = x; if loop { if s > 1.0 { break true; } s += x; } { s } else { x } }
#[differentiable(x)] fn o45(x: f64) -> f64 { let a = [x; 3]; a[loop { break 1; }] * x }
#[differentiable(x)] fn o46(x: f64) -> f64 { let mut a = vec![x; 3]; a[loop { break 1; }] = x * x; a[1] }
#[differentiable(x)] fn o47(x: f64) -> f64 { let mut s = x; s += loop { if s > 1.0 { break s; } s *= 2.0; }; s }
#[differentiable(x)] fn o48(x: f64) -> f64 { loop { break x; }.sin() + sg(loop { break x; }) }
#[differentiable(x)] fn o49(x: f64) -> f64 { let f = |y: f64| loop { break y; }; f(x) }
#[differentiable(x)] fn o50(x: f64) -> f64 { match loop { break 1; } { 1 => x, _ => loop { break x * x; } } }
#[differentiable(x)] fn o51(x: f64) -> f64 { let mut s = x; let r = loop { break if s > 0.0 { s } else { return s; }; }; r }
#[differentiable(x)] fn o52(x: f64) -> f64 { let mut s = x; let r = loop { break { s += x; s }; }; r + s }
#[differentiable(x)] fn o53(x: f64) -> f64 { let mut s = x; let r = loop { break loop { s += x; if s > 1.0 { break s; } }; }; r }
#[differentiable(x)] fn o54(x: f64) -> f64 { let mut s = x; let r = loop { if s > 1.0 { break (s); } s += x; }; r }
#[differentiable(x)] fn o55(x: f64) -> f64 { let mut s = x; let r = loop { if s > 1.0 { break [s][0]; } s += x; }; r }
#[differentiable(x)] fn o56(x: f64) -> f64 { let mut s = x; let r = loop { if s > 1.0 { break (s,); } s += x; }; r.0 }
#[differentiable(x)] fn o57(x: f64) -> f64 { let mut s = x; let r = loop { if s > 1.0 { break (); } s += x; }; s }
#[differentiable(x)] fn o58(x: f64) -> f64 { let mut s = x; let r = loop { if s > 1.0 { break vec![s]; } s += x; }; r[0] }
#[differentiable(x)] fn o59(x: f64) -> f64 { let mut s = (x, x); loop { s = (s.1, s.0 * x); if s.0 > 1.0 { break; } } s.0 }
#[differentiable(x)] fn o60(x: f64) -> f64 { let mut s = (x, x); let r = loop { s.0 += x; if s.0 > 1.0 { break s.1; } }; r }
#[differentiable(x)] fn o61(x: f64, n: usize) -> f64 { let mut t = (x, (x, x)); for i in 0..n { t.1 .0 += t.0; if t.1 .1 > 1.0 { continue; } t = (t.1 .1, (t.0, x)); } t.1 .0 }
#[differentiable(x)] fn o62(x: f64) -> f64 { let (mut a, mut b); a = x; b = a * x; loop { (a, b) = (b, a); if a > 1.0 { break; } } a + b }
#[differentiable(x)] fn o63(x: f64) -> f64 { let t; loop { t = x; break; } t }
#[differentiable(x)] fn o64(x: f64) -> f64 { let t; if x > 0.0 { t = x; } else { return x; } t }
#[differentiable(x)] fn o65(x: f64, n: usize) -> f64 { let t; for i in 0..n { if i == 0 { continue; } } t = x; t }
#[differentiable(x)] fn o66(x: f64) -> f64 { let t: (f64, f64); t = (x, x); t.0 }
#[differentiable(x)] fn o67(x: f64) -> f64 { let t = if x > 0.0 { (x, x) } else { return x; }; t.0 }
#[differentiable(x)] fn o68(x: f64) -> f64 { let mut s = x; let t = loop { if s > 1.0 { break (s, s); } s += x; }; t.0 }
#[differentiable(x)] fn p1(x: &[Vec<Vec<f64>>]) -> f64 { let mut s = 0.0; for i in 0..x.len() { for j in 0..x[i].len() { for k in 0..x[i][j].len() { s += x[i][j][k] * x[i][j][0]; } } } s }
#[differentiable(x)] fn p2(x: Vec<Vec<Vec<f64>>>) -> f64 { let r = &x[0]; let q = &r[1]; q[0] * x[0][1][0] }
#[differentiable(x)] fn p3(x: &[[f64; 2]]) -> f64 { let mut s = 0.0; for row in x.iter() { s += row[0] * row[1]; } s }
#[differentiable(x)] fn p4(x: [[f64; 2]; 2]) -> f64 { x[0][0] * x[1][1] - x[0][1] * x[1][0] }
#[differentiable(x)] fn p5<const N: usize>(x: [f64; N]) -> f64 { let mut s = 0.0; for i in 0..N { s += x[i]; } s }
#[differentiable(x)] fn p6(x: &[f64]) -> f64 { x.iter().sum::<f64>() * x.len() as f64 + x[x.len() - 1] }
#[differentiable(x)] fn p7(x: &[f64]) -> f64 { let y = x; y[0] * x[1] }
#[differentiable(x)] fn p8(x: &[f64]) -> f64 { let y = &x[1..]; y[0] }
#[differentiable(x)] fn p9(x: &[f64]) -> f64 { let v = x.to_vec(); v[0] }
#[differentiable(x)] fn p10(x: &[f64]) -> f64 { sgrad::log_sum_exp(x) + sgrad::log_sum_exp(&x[1..]) }
#[differentiable(x)] fn p11(x: &[f64]) -> f64 { let mut a = x.to_vec(); a[0] = 1.0; sgrad::log_sum_exp(&a) }
#[differentiable(x)] fn p12(x: &[f64], i: usize) -> f64 { x[x[0] as usize] * x[i] }
#[differentiable(x)] fn p13(x: &[f64]) -> f64 { let mut s = 0.0; for v in x { s += v; } for &v in x.iter() { s += v; } for v in x.iter().rev() { s *= v; } s }
#[differentiable(x)] fn p14(x: &[f64]) -> f64 { let mut s = 0.0; for (i, v) in x.iter().enumerate().rev() { s += v * i as f64; } for v in x.iter().skip(1) { s += v; } s }
#[differentiable(x)] fn p15(x: &[Vec<f64>]) -> f64 { let mut a = vec![vec![0.0; 2]; 2]; a[0] = x[0].clone(); a[1][0] = x[1][0]; a[0][0] + a[1][0] }
#[differentiable(x)] fn p16(x: &[Vec<f64>]) -> f64 { let mut s = 0.0; for r in x { for v in r { s += v; } } s }
#[differentiable(x)] fn p17(x: &[Vec<f64>]) -> f64 { let mut s = 0.0; for i in 0..x.len() { let r = &x[i]; if r[0] > 0.0 { continue; } s += sgrad::log_sum_exp(r); } s }
#[differentiable(x, y)] fn p18(x: f64, y: &[f64]) -> f64 { let mut a = vec![x; y.len()]; for i in 0..y.len() { a[i] *= y[i]; if a[i] > 1.0 { return a[i]; } } sgrad::log_sum_exp(&a) }
#[differentiable(x)] fn p19(x: &mut f64) -> f64 { *x }
#[differentiable(x)] fn p20(x: &f64) -> f64 { *x * x }
#[differentiable(x)] fn p21(x: Box<[f64]>) -> f64 { x[0] }
#[differentiable(x)] fn p22(x: &&[f64]) -> f64 { x[0] }
#[differentiable(x)] fn p23(x: (f64, f64)) -> f64 { x.0 }
#[differentiable(x)] fn p24(x: &[f64; 3]) -> f64 { x[0] * x[2] }
#[differentiable(x)] fn p25(x: &[f64]) -> f64 { let mut m = vec![vec![0.0; x.len()]; x.len()]; for i in 0..x.len() { m[i][i] = x[i]; m[i].push(x[i]); } m[0][1] }
#[differentiable(x)] fn p26(x: &[f64]) -> f64 { let mut m = vec![vec![0.0; 2]; 2]; m[0][0] = x[0]; let r = &m[0]; let t = r[0]; m[0][0] = 2.0; t * m[0][0] }
#[differentiable(x)] fn p27(x: &[f64]) -> f64 { let mut m = vec![vec![0.0; 2]; 2]; let r = m[0].clone(); m[1] = r; m[1][0] * x[0] }
#[differentiable(x)] fn p28(x: &[f64]) -> f64 { let mut a = Vec::new(); a.push(vec![x[0]]); a[0].push(x[1]); a[0][1] }
#[differentiable(x)] fn p29(x: f64) -> f64 { let mut a = vec![x; 2]; let b = &mut a; b.push(x); a[2] }
#[differentiable(x)] fn p30(x: f64) -> f64 { let mut a = vec![x; 2]; a.swap(0, 1); a.reverse(); a.sort_by(|p, q| p.partial_cmp(q).unwrap()); a[0] }
"#;

pub(super) const HAND_GRAD_SEEDS: &str = r#"
pub(super) fn closures() {
    let g = grad!(|x: f64, y: f64| {
        let mut s = x;
        let r = loop {
            s *= y;
            if s > 2.0 {
                break s;
            }
            if s < 0.0 {
                break (s, s).0;
            }
        };
        r + sg(x)
    });
    let h = grad!(|x: f64| x * sg(x) + sg_for!(x, x.exp()), wrt(x));
    let k = grad!(
        |x: &[f64], w: f64| {
            let mut a = vec![0.0; x.len()];
            for i in 0..x.len() {
                if x[i] < 0.0 {
                    continue;
                }
                a[i] = x[i] * w;
            }
            a.iter().sum::<f64>()
        },
        wrt(x, w)
    );
}
"#;
