//! `ht`: hand tracking (from ADBench). A skinned hand model: each bone's
//! pose is a rotation from Euler angles (x, z, y order as stored, applied
//! as `Rz · Ry · Rx`) after its base-relative transform; the bones chain
//! from parent to child into absolute transforms, each times its inverse
//! base absolute; a vertex is the weighted sum of its homogeneous base
//! position under every bone's transform (linear blend skinning), mirrored
//! in x if asked, then rotated by the global angle-axis rotation and
//! translated. `theta` (26 numbers) holds the global rotation (3), the
//! translation (3), and four numbers per finger (two angles for its first
//! moving bone, one each for the next two).
//!
//! Residual `i` is `points[i] − vertex` for the simple variant (`us`
//! empty; `correspondences[i]` is a vertex), and `points[i] − (u₀ V₀ + u₁ V₁
//! + (1 − u₀ − u₁) V₂)` over the corresponded triangle for the complicated
//!   one (`us[i] = (u₀, u₁)`, also differentiated).
//!
//! The objective is generic over `T: Real` and its Jacobian is made by
//! sgrad's forward mode on `DualVec` numbers, one sweep for all columns:
//! the Jacobian is tall (3 rows per point, 26 or 28 columns), so reverse
//! mode would take one sweep per row (3·n sweeps of the whole hand), and
//! forward mode takes one per column. For the complicated variant the
//! `us` columns are compressed as the eval's output is (column 0 is
//! ∂rᵢ/∂uᵢ₀, column 1 ∂rᵢ/∂uᵢ₁, then the 26 of `theta`): residual `i`
//! depends on `us[i]` only, so one lane seeded with 1 on every `uᵢ₀`
//! (and one on every `uᵢ₁`) gives all those entries at once.

use serde::Deserialize;
use serde_json::{json, Value};
use sgrad::{DualVec, Real};

use super::{parse, unknown, Rng};
use crate::protocol::Evaluation;

/// Length of `theta`.
pub const THETA: usize = 26;

type M4 = [[f64; 4]; 4];

#[derive(Deserialize)]
struct ModelInput {
    bone_names: Vec<String>,
    parents: Vec<i64>,
    base_relatives: Vec<Vec<Vec<f64>>>,
    inverse_base_absolutes: Vec<Vec<Vec<f64>>>,
    base_positions: Vec<Vec<f64>>,
    weights: Vec<Vec<f64>>,
    triangles: Vec<Vec<usize>>,
    is_mirrored: bool,
}

#[derive(Deserialize)]
struct DataInput {
    model: ModelInput,
    correspondences: Vec<usize>,
    points: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
struct Input {
    theta: Vec<f64>,
    data: DataInput,
    #[serde(default)]
    us: Vec<Vec<f64>>,
}

/// The hand model, matrices row-major.
pub struct Model {
    /// The parent of each bone (earlier in the order), `None` for a root.
    pub parents: Vec<Option<usize>>,
    pub base_relatives: Vec<M4>,
    pub inverse_base_absolutes: Vec<M4>,
    /// Homogeneous base positions, one per vertex.
    pub base_positions: Vec<[f64; 4]>,
    /// `weights[v][b]`: the weight of bone `b` for vertex `v`.
    pub weights: Vec<Vec<f64>>,
    pub triangles: Vec<[usize; 3]>,
    pub is_mirrored: bool,
}

/// The model, the data points and what they correspond to.
pub struct Data {
    pub model: Model,
    pub correspondences: Vec<usize>,
    pub points: Vec<[f64; 3]>,
}

/// An eval input, checked.
pub struct Problem {
    pub theta: Vec<f64>,
    /// `us` flattened (u₀, u₁ per point); empty for the simple variant.
    pub us: Vec<f64>,
    pub data: Data,
}

fn matrix(m: &[Vec<f64>], what: &str) -> Result<M4, String> {
    if m.len() != 4 || m.iter().any(|r| r.len() != 4) {
        return Err(format!("ht: each of {what} must be 4 × 4"));
    }
    let mut out = [[0.0; 4]; 4];
    for (i, row) in m.iter().enumerate() {
        out[i].copy_from_slice(row);
    }
    Ok(out)
}

impl Problem {
    fn new(input: Input) -> Result<Problem, String> {
        let m = input.data.model;
        let bones = m.bone_names.len();
        // The finger angles go to bones 2..=20 (five fingers of four bones after the wrist).
        if bones < 21 {
            return Err(format!(
                "ht: the model has {bones} bones, at least 21 needed"
            ));
        }
        if input.theta.len() != THETA {
            return Err(format!(
                "ht: theta has {} numbers, not {THETA}",
                input.theta.len()
            ));
        }
        if m.parents.len() != bones
            || m.base_relatives.len() != bones
            || m.inverse_base_absolutes.len() != bones
        {
            return Err("ht: parents and bone matrices must have one entry per bone".into());
        }
        let mut parents = Vec::with_capacity(bones);
        for (i, &p) in m.parents.iter().enumerate() {
            parents.push(match p {
                -1 => None,
                p if p >= 0 && (p as usize) < i => Some(p as usize),
                p => return Err(format!("ht: bone {i} has parent {p}, not an earlier bone")),
            });
        }
        let base_relatives = m
            .base_relatives
            .iter()
            .map(|r| matrix(r, "base_relatives"))
            .collect::<Result<_, _>>()?;
        let inverse_base_absolutes = m
            .inverse_base_absolutes
            .iter()
            .map(|r| matrix(r, "inverse_base_absolutes"))
            .collect::<Result<_, _>>()?;
        let mut base_positions = Vec::with_capacity(m.base_positions.len());
        for p in &m.base_positions {
            base_positions.push(match p.len() {
                3 => [p[0], p[1], p[2], 1.0],
                4 => [p[0], p[1], p[2], p[3]],
                _ => return Err("ht: base positions have 3 or 4 coordinates".into()),
            });
        }
        let verts = base_positions.len();
        if m.weights.len() != verts || m.weights.iter().any(|w| w.len() != bones) {
            return Err("ht: weights must be vertices × bones".into());
        }
        let mut triangles = Vec::with_capacity(m.triangles.len());
        for t in &m.triangles {
            if t.len() != 3 || t.iter().any(|&v| v >= verts) {
                return Err("ht: a triangle needs three vertex indices in range".into());
            }
            triangles.push([t[0], t[1], t[2]]);
        }
        let n = input.data.correspondences.len();
        if input.data.points.len() != n || input.data.points.iter().any(|p| p.len() != 3) {
            return Err("ht: one 3-d point per correspondence".into());
        }
        let complicated = !input.us.is_empty();
        if complicated && (input.us.len() != n || input.us.iter().any(|u| u.len() != 2)) {
            return Err("ht: us must hold two numbers per correspondence".into());
        }
        let targets = if complicated { triangles.len() } else { verts };
        if input.data.correspondences.iter().any(|&c| c >= targets) {
            return Err("ht: a correspondence is out of range".into());
        }
        Ok(Problem {
            theta: input.theta,
            us: input.us.concat(),
            data: Data {
                model: Model {
                    parents,
                    base_relatives,
                    inverse_base_absolutes,
                    base_positions,
                    weights: m.weights,
                    triangles,
                    is_mirrored: m.is_mirrored,
                },
                correspondences: input.data.correspondences,
                points: input
                    .data
                    .points
                    .iter()
                    .map(|p| [p[0], p[1], p[2]])
                    .collect(),
            },
        })
    }

    pub fn complicated(&self) -> bool {
        !self.us.is_empty()
    }

    pub fn objective(&self) -> Vec<f64> {
        objective(&self.theta, &self.us, &self.data)
    }

    /// The Jacobian, one row per residual: 26 columns (`theta`) for the
    /// simple variant, 28 (`uᵢ₀`, `uᵢ₁`, `theta`) for the complicated one.
    pub fn jacobian(&self) -> Vec<Vec<f64>> {
        if !self.complicated() {
            return sgrad::jacobian(
                |theta: &[DualVec<f64, THETA>]| objective(theta, &[], &self.data),
                &self.theta,
            );
        }
        const LANES: usize = THETA + 2;
        let lane = |value: f64, l: usize| {
            let mut eps = [0.0; LANES];
            eps[l] = 1.0;
            DualVec::<f64, LANES>::new(value, eps)
        };
        let theta: Vec<_> = (0..THETA).map(|k| lane(self.theta[k], k + 2)).collect();
        let us: Vec<_> = self
            .us
            .iter()
            .enumerate()
            .map(|(j, &u)| lane(u, j % 2))
            .collect();
        objective(&theta, &us, &self.data)
            .iter()
            .map(|r| r.eps.to_vec())
            .collect()
    }
}

/// The pose parameters: one column of three numbers for the global
/// rotation, the scale (ones), the translation, then one per bone.
pub fn pose_params<T: Real>(theta: &[T], bones: usize) -> Vec<[T; 3]> {
    let mut pose = vec![[T::zero(); 3]; bones + 3];
    pose[0] = [theta[0], theta[1], theta[2]];
    pose[1] = [T::one(); 3];
    pose[2] = [theta[3], theta[4], theta[5]];
    let mut i_theta = 6;
    let mut col = 5;
    for _finger in 0..5 {
        for bone in 2..=4 {
            pose[col][0] = theta[i_theta];
            i_theta += 1;
            if bone == 2 {
                pose[col][1] = theta[i_theta];
                i_theta += 1;
            }
            col += 1;
        }
        col += 1;
    }
    pose
}

fn mul3<T: Real>(a: &[[T; 3]; 3], b: &[[T; 3]; 3]) -> [[T; 3]; 3] {
    let mut c = [[T::zero(); 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            for k in 0..3 {
                c[i][j] += a[i][k] * b[k][j];
            }
        }
    }
    c
}

/// `Rz · Ry · Rx` for angles stored as (x, z, y).
pub fn euler_angles_to_rotation<T: Real>(xzy: [T; 3]) -> [[T; 3]; 3] {
    let (o, l) = (T::zero(), T::one());
    let (tx, ty, tz) = (xzy[0], xzy[2], xzy[1]);
    let rx = [[l, o, o], [o, tx.cos(), -tx.sin()], [o, tx.sin(), tx.cos()]];
    let ry = [[ty.cos(), o, ty.sin()], [o, l, o], [-ty.sin(), o, ty.cos()]];
    let rz = [[tz.cos(), -tz.sin(), o], [tz.sin(), tz.cos(), o], [o, o, l]];
    mul3(&mul3(&rz, &ry), &rx)
}

/// Rodrigues' formula; the identity below an angle of 1e-4.
pub fn angle_axis_to_rotation<T: Real>(a: [T; 3]) -> [[T; 3]; 3] {
    let norm = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
    let (o, l) = (T::zero(), T::one());
    if norm < T::from_f64(1e-4) {
        return [[l, o, o], [o, l, o], [o, o, l]];
    }
    let (x, y, z) = (a[0] / norm, a[1] / norm, a[2] / norm);
    let (s, c) = (norm.sin(), norm.cos());
    [
        [
            x * x + (l - x * x) * c,
            x * y * (l - c) - z * s,
            x * z * (l - c) + y * s,
        ],
        [
            x * y * (l - c) + z * s,
            y * y + (l - y * y) * c,
            y * z * (l - c) - x * s,
        ],
        [
            x * z * (l - c) - y * s,
            z * y * (l - c) + x * s,
            z * z + (l - z * z) * c,
        ],
    ]
}

/// Each bone's transform: its absolute pose times its inverse base absolute.
pub fn bone_transforms<T: Real>(model: &Model, pose: &[[T; 3]]) -> Vec<[[T; 4]; 4]> {
    let bones = model.parents.len();
    let mut absolutes: Vec<[[T; 4]; 4]> = Vec::with_capacity(bones);
    let mut transforms = Vec::with_capacity(bones);
    for b in 0..bones {
        // relative = base_relative · [R 0; 0 1]
        let r = euler_angles_to_rotation(pose[b + 3]);
        let base = &model.base_relatives[b];
        let mut relative = [[T::zero(); 4]; 4];
        for i in 0..4 {
            for j in 0..3 {
                for k in 0..3 {
                    relative[i][j] += T::from_f64(base[i][k]) * r[k][j];
                }
            }
            relative[i][3] = T::from_f64(base[i][3]);
        }
        let absolute = match model.parents[b] {
            None => relative,
            Some(p) => {
                let mut a = [[T::zero(); 4]; 4];
                for i in 0..4 {
                    for j in 0..4 {
                        for k in 0..4 {
                            a[i][j] += absolutes[p][i][k] * relative[k][j];
                        }
                    }
                }
                a
            }
        };
        let inv = &model.inverse_base_absolutes[b];
        let mut t = [[T::zero(); 4]; 4];
        for i in 0..4 {
            for j in 0..4 {
                for k in 0..4 {
                    t[i][j] += absolute[i][k] * T::from_f64(inv[k][j]);
                }
            }
        }
        absolutes.push(absolute);
        transforms.push(t);
    }
    transforms
}

/// Every vertex: skinned, mirrored if the model is, then the global
/// rotation (columns scaled by the scale parameters) and translation.
pub fn vertex_positions<T: Real>(model: &Model, pose: &[[T; 3]]) -> Vec<[T; 3]> {
    let transforms = bone_transforms(model, pose);
    let r = angle_axis_to_rotation(pose[0]);
    let mut out = Vec::with_capacity(model.base_positions.len());
    for (x, weights) in model.base_positions.iter().zip(&model.weights) {
        let mut p = [T::zero(); 3];
        for (t, &w) in transforms.iter().zip(weights) {
            // A bone of weight 0 adds nothing (the dense sum's zero terms).
            if w == 0.0 {
                continue;
            }
            for i in 0..3 {
                let mut s = T::zero();
                for k in 0..4 {
                    s += t[i][k] * T::from_f64(x[k]);
                }
                p[i] += s * T::from_f64(w);
            }
        }
        if model.is_mirrored {
            p[0] = -p[0];
        }
        let mut q = [T::zero(); 3];
        for i in 0..3 {
            q[i] = pose[2][i];
            for k in 0..3 {
                q[i] += r[i][k] * pose[1][k] * p[k];
            }
        }
        out.push(q);
    }
    out
}

/// The residuals, three per correspondence: simple when `us` is empty.
pub fn objective<T: Real>(theta: &[T], us: &[T], data: &Data) -> Vec<T> {
    let pose = pose_params(theta, data.model.parents.len());
    let verts = vertex_positions(&data.model, &pose);
    let mut err = Vec::with_capacity(3 * data.correspondences.len());
    for (i, &c) in data.correspondences.iter().enumerate() {
        for j in 0..3 {
            let hand = if us.is_empty() {
                verts[c][j]
            } else {
                let [a, b, d] = data.model.triangles[c];
                let (u0, u1) = (us[2 * i], us[2 * i + 1]);
                u0 * verts[a][j] + u1 * verts[b][j] + (T::one() - u0 - u1) * verts[d][j]
            };
            err.push(T::from_f64(data.points[i][j]) - hand);
        }
    }
    err
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluation, String> {
    let problem = Problem::new(parse(input)?)?;
    match function {
        "objective" => Evaluation::timed(input, || problem.objective()),
        "jacobian" => Evaluation::timed(input, || problem.jacobian()),
        f => Err(unknown("ht", f)),
    }
}

/// A synthetic input for tests and `--bench`: a hand of 22 bones (wrist,
/// five fingers of four, forearm) with random rigid bone matrices, `verts`
/// vertices each weighted on one bone and its parent (every `dense`-th
/// vertex on all bones), a triangle per vertex, `n` points and, when
/// `complicated`, barycentric `us`.
pub fn synthetic_input(
    seed: u64,
    verts: usize,
    n: usize,
    complicated: bool,
    dense: usize,
) -> Value {
    let mut rng = Rng(seed);
    let mut parents = vec![-1i64];
    for f in 0..5 {
        parents.push(0);
        for b in 1..4 {
            parents.push(1 + 4 * f + b - 1);
        }
    }
    parents.push(0);
    let bones = parents.len();
    let rigid = |rng: &mut Rng| {
        let r = euler_angles_to_rotation([rng.normal(), rng.normal(), rng.normal()]);
        let t = rng.vec(3, -0.5, 0.5);
        (0..4)
            .map(|i| {
                if i == 3 {
                    vec![0.0, 0.0, 0.0, 1.0]
                } else {
                    vec![r[i][0], r[i][1], r[i][2], t[i]]
                }
            })
            .collect::<Vec<_>>()
    };
    let base_relatives: Vec<_> = (0..bones).map(|_| rigid(&mut rng)).collect();
    let inverse_base_absolutes: Vec<_> = (0..bones).map(|_| rigid(&mut rng)).collect();
    let base_positions: Vec<Vec<f64>> = (0..verts)
        .map(|_| {
            let mut p = rng.vec(3, -1.0, 1.0);
            p.push(1.0);
            p
        })
        .collect();
    let weights: Vec<Vec<f64>> = (0..verts)
        .map(|v| {
            let mut w = vec![0.0; bones];
            if v % dense == 0 {
                for x in w.iter_mut() {
                    *x = 1.0 / bones as f64;
                }
            } else {
                let b = v % bones;
                match parents[b] {
                    -1 => w[b] = 1.0,
                    p => {
                        w[b] = 0.6;
                        w[p as usize] = 0.4;
                    }
                }
            }
            w
        })
        .collect();
    let triangles: Vec<Vec<usize>> = (0..verts)
        .map(|v| vec![v, (v + 1) % verts, (v + 2) % verts])
        .collect();
    let correspondences: Vec<usize> = (0..n).map(|i| (7 * i + 3) % verts).collect();
    let points: Vec<Vec<f64>> = (0..n).map(|_| rng.vec(3, -2.0, 2.0)).collect();
    let us: Vec<Vec<f64>> = if complicated {
        (0..n).map(|_| rng.vec(2, 0.0, 0.5)).collect()
    } else {
        Vec::new()
    };
    let theta = rng.vec(THETA, -0.6, 0.6);
    json!({
        "theta": theta,
        "us": us,
        "data": {
            "model": {
                "bone_count": bones,
                "bone_names": (0..bones).map(|b| format!("b{b}")).collect::<Vec<_>>(),
                "parents": parents,
                "base_relatives": base_relatives,
                "inverse_base_absolutes": inverse_base_absolutes,
                "base_positions": base_positions,
                "weights": weights,
                "triangles": triangles,
                "is_mirrored": seed % 2 == 1,
            },
            "correspondences": correspondences,
            "points": points,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evals::fd;

    fn small_hand(seed: u64, verts: usize, n: usize, complicated: bool) -> Value {
        synthetic_input(seed, verts, n, complicated, 3)
    }

    fn problem(input: &Value) -> Problem {
        Problem::new(parse(input).unwrap()).unwrap()
    }

    /// Central differences of all residuals in one input (`theta[k]`, or
    /// `us[k - 26]`), step `h · max(1, |x|)`.
    fn column(p: &Problem, k: usize) -> Vec<f64> {
        let at = |x: f64| {
            let (mut theta, mut us) = (p.theta.clone(), p.us.clone());
            if k < THETA {
                theta[k] = x;
            } else {
                us[k - THETA] = x;
            }
            objective(&theta, &us, &p.data)
        };
        let x = if k < THETA {
            p.theta[k]
        } else {
            p.us[k - THETA]
        };
        let step = 1e-6 * x.abs().max(1.0);
        let (up, down) = (at(x + step), at(x - step));
        up.iter()
            .zip(&down)
            .map(|(u, d)| (u - d) / (2.0 * step))
            .collect()
    }

    #[test]
    fn simple_jacobian_against_central_differences() {
        for (seed, mirrored_rotation_zero) in [(2, false), (3, false), (4, true)] {
            let mut input = small_hand(seed, 9, 7, false);
            if mirrored_rotation_zero {
                // The identity branch of the global rotation.
                for k in 0..3 {
                    input["theta"][k] = json!(0.0);
                }
            }
            let p = problem(&input);
            let j = p.jacobian();
            assert_eq!(j.len(), 21);
            assert!(j.iter().all(|r| r.len() == THETA));
            for k in 0..THETA {
                let got: Vec<f64> = j.iter().map(|r| r[k]).collect();
                fd::assert_close(&got, &column(&p, k), 1e-6);
            }
            // Every finger parameter moves some residual.
            for k in 6..THETA {
                assert!(j.iter().any(|r| r[k].abs() > 1e-3), "column {k}");
            }
        }
    }

    #[test]
    fn complicated_jacobian_against_central_differences() {
        for seed in [5, 6] {
            let p = problem(&small_hand(seed, 10, 6, true));
            let j = p.jacobian();
            assert_eq!(j.len(), 18);
            assert!(j.iter().all(|r| r.len() == THETA + 2));
            for k in 0..THETA {
                let got: Vec<f64> = j.iter().map(|r| r[k + 2]).collect();
                fd::assert_close(&got, &column(&p, k), 1e-6);
            }
            // The compressed us columns: residual i in uᵢ₀ and uᵢ₁, and no
            // residual moves with another point's u.
            for q in 0..p.us.len() {
                let want = column(&p, THETA + q);
                for (row, w) in want.iter().enumerate() {
                    let got = if row / 3 == q / 2 { j[row][q % 2] } else { 0.0 };
                    fd::assert_close(&[got], &[*w], 1e-6);
                }
            }
        }
    }

    #[test]
    fn forward_sweep_values_equal_the_objective() {
        let p = problem(&small_hand(7, 8, 5, true));
        let theta: Vec<DualVec<f64, 2>> = p.theta.iter().map(|&t| DualVec::constant(t)).collect();
        let us: Vec<DualVec<f64, 2>> = p.us.iter().map(|&u| DualVec::constant(u)).collect();
        let dual: Vec<f64> = objective(&theta, &us, &p.data)
            .iter()
            .map(|d| d.re)
            .collect();
        assert_eq!(dual, p.objective());
    }

    #[test]
    fn evaluate_answers_both_functions_and_rejects_bad_input() {
        let input = small_hand(8, 6, 4, true);
        let obj = evaluate("objective", &input).unwrap().output;
        assert_eq!(obj.as_array().unwrap().len(), 12);
        let jac = evaluate("jacobian", &input).unwrap().output;
        assert_eq!(jac.as_array().unwrap().len(), 12);
        assert_eq!(jac[0].as_array().unwrap().len(), 28);
        let mut bad = input.clone();
        bad["theta"] = json!(vec![0.0; 25]);
        assert!(evaluate("objective", &bad).is_err());
        let mut bad = input;
        bad["data"]["correspondences"][0] = json!(1000);
        assert!(evaluate("jacobian", &bad).is_err());
        assert!(evaluate("hessian", &small_hand(9, 6, 4, false)).is_err());
    }
}
