//! `ba`: bundle adjustment. Each observation's reprojection error (two
//! numbers) depends on one camera (11 parameters: Rodrigues rotation,
//! centre, focal length, principal point, radial distortion), one point
//! and one weight; each weight has an error `1 − w²`. The Jacobian is
//! sparse: per observation, a 2 × 15 block from two vector–Jacobian
//! products of `reproj_error` (one per output), and per weight one entry.
//!
//! The input holds one camera, point, weight and feature, to be repeated
//! as GradBench's tools do (observation `i` sees camera `i mod n` and
//! point `i mod m`); everything is computed for all `p` observations, and
//! the output keeps the parts the eval compares.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sgrad::differentiable;

use super::{parse, unknown};
use crate::protocol::Evaluation;

pub const CAM: usize = 11;

#[differentiable(cam, x, w)]
pub fn reproj_error(cam: &[f64], x: &[f64], w: f64, feat: &[f64]) -> Vec<f64> {
    let xo = [x[0] - cam[3], x[1] - cam[4], x[2] - cam[5]];
    let sqtheta = cam[0] * cam[0] + cam[1] * cam[1] + cam[2] * cam[2];
    let mut xcam = [0.0; 3];
    if sqtheta != 0.0 {
        let theta = sqtheta.sqrt();
        let costheta = theta.cos();
        let sintheta = theta.sin();
        let inv = 1.0 / theta;
        let v = [cam[0] * inv, cam[1] * inv, cam[2] * inv];
        let cross = [
            v[1] * xo[2] - v[2] * xo[1],
            v[2] * xo[0] - v[0] * xo[2],
            v[0] * xo[1] - v[1] * xo[0],
        ];
        let tmp = (v[0] * xo[0] + v[1] * xo[1] + v[2] * xo[2]) * (1.0 - costheta);
        for i in 0..3 {
            xcam[i] = xo[i] * costheta + cross[i] * sintheta + v[i] * tmp;
        }
    } else {
        let cross = [
            cam[1] * xo[2] - cam[2] * xo[1],
            cam[2] * xo[0] - cam[0] * xo[2],
            cam[0] * xo[1] - cam[1] * xo[0],
        ];
        for i in 0..3 {
            xcam[i] = xo[i] + cross[i];
        }
    }
    let p0 = xcam[0] / xcam[2];
    let p1 = xcam[1] / xcam[2];
    let rsq = p0 * p0 + p1 * p1;
    let distortion = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq;
    let proj0 = p0 * distortion * cam[6] + cam[7];
    let proj1 = p1 * distortion * cam[6] + cam[8];
    vec![w * (proj0 - feat[0]), w * (proj1 - feat[1])]
}

#[differentiable(w)]
pub fn weight_error(w: f64) -> f64 {
    1.0 - w * w
}

/// The problem with the one camera, point, weight and feature repeated.
pub struct Problem {
    pub n: usize,
    pub m: usize,
    pub cams: Vec<Vec<f64>>,
    pub xs: Vec<Vec<f64>>,
    pub ws: Vec<f64>,
    pub feats: Vec<Vec<f64>>,
    pub obs: Vec<(usize, usize)>,
}

#[derive(Deserialize)]
pub struct Input {
    pub n: usize,
    pub m: usize,
    pub p: usize,
    pub cam: Vec<f64>,
    pub x: Vec<f64>,
    pub w: f64,
    pub feat: Vec<f64>,
}

impl Problem {
    pub fn new(i: &Input) -> Result<Problem, String> {
        if i.cam.len() != CAM || i.x.len() != 3 || i.feat.len() != 2 || i.n == 0 || i.m == 0 {
            return Err(
                "ba: needs 11 camera parameters, 3 point coordinates, 2 feature coordinates".into(),
            );
        }
        Ok(Problem {
            n: i.n,
            m: i.m,
            cams: vec![i.cam.clone(); i.n],
            xs: vec![i.x.clone(); i.m],
            ws: vec![i.w; i.p],
            feats: vec![i.feat.clone(); i.p],
            obs: (0..i.p).map(|k| (k % i.n, k % i.m)).collect(),
        })
    }

    pub fn objective(&self) -> (Vec<f64>, Vec<f64>) {
        let mut reproj = Vec::with_capacity(2 * self.obs.len());
        for (k, &(c, x)) in self.obs.iter().enumerate() {
            reproj.extend(reproj_error(
                &self.cams[c],
                &self.xs[x],
                self.ws[k],
                &self.feats[k],
            ));
        }
        let w_err = self.ws.iter().map(|&w| weight_error(w)).collect();
        (reproj, w_err)
    }

    /// The Jacobian in compressed sparse rows, columns ordered cameras,
    /// points, weights (as GradBench's `SparseMat`).
    pub fn jacobian(&self) -> Sparse {
        let p = self.obs.len();
        let mut s = Sparse {
            rows: Vec::with_capacity(3 * p + 1),
            cols: Vec::with_capacity(31 * p),
            vals: Vec::with_capacity(31 * p),
        };
        s.rows.push(0);
        for (k, &(c, x)) in self.obs.iter().enumerate() {
            for unit in [[1.0, 0.0], [0.0, 1.0]] {
                let (_, (gc, gx, gw)) = reproj_error_vjp(
                    &self.cams[c],
                    &self.xs[x],
                    self.ws[k],
                    &self.feats[k],
                    &unit,
                );
                for (i, v) in gc.iter().enumerate() {
                    s.cols.push(CAM * c + i);
                    s.vals.push(*v);
                }
                for (i, v) in gx.iter().enumerate() {
                    s.cols.push(CAM * self.n + 3 * x + i);
                    s.vals.push(*v);
                }
                s.cols.push(CAM * self.n + 3 * self.m + k);
                s.vals.push(gw);
                s.rows.push(s.cols.len());
            }
        }
        for (k, &w) in self.ws.iter().enumerate() {
            s.cols.push(CAM * self.n + 3 * self.m + k);
            s.vals.push(weight_error_grad(w).1);
            s.rows.push(s.cols.len());
        }
        s
    }
}

/// A sparse matrix in compressed rows.
#[derive(Debug)]
pub struct Sparse {
    pub rows: Vec<usize>,
    pub cols: Vec<usize>,
    pub vals: Vec<f64>,
}

/// What the eval compares: the first 30 and the last entry of each list.
#[derive(Serialize)]
struct JacobianOutput {
    rows: Vec<usize>,
    cols: Vec<usize>,
    vals: Vec<f64>,
}

fn head_and_last<T: Copy>(v: &[T]) -> Vec<T> {
    let mut out: Vec<T> = v.iter().take(30).copied().collect();
    out.extend(v.last().copied());
    out
}

pub fn evaluate(function: &str, input: &Value) -> Result<Evaluation, String> {
    let problem = Problem::new(&parse(input)?)?;
    if problem.obs.is_empty() {
        return Err("ba: p must be at least 1".into());
    }
    match function {
        "objective" => Evaluation::timed(input, || {
            let (reproj, w_err) = problem.objective();
            serde_json::json!({
                "reproj_error": { "elements": [reproj[0], reproj[1]], "repeated": reproj.len() / 2 },
                "w_err": { "element": w_err[0], "repeated": w_err.len() },
            })
        }),
        "jacobian" => Evaluation::timed(input, || {
            let j = problem.jacobian();
            JacobianOutput {
                rows: head_and_last(&j.rows),
                cols: head_and_last(&j.cols),
                vals: head_and_last(&j.vals),
            }
        }),
        f => Err(unknown("ba", f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evals::fd;

    fn camera(rng: &mut fd::Rng, rotation: f64) -> Vec<f64> {
        let mut cam = rng.vec(CAM, -0.5, 0.5);
        for r in &mut cam[..3] {
            *r *= rotation;
        }
        cam[5] = -5.0; // in front of the point
        cam[6] = 2.0;
        cam
    }

    #[test]
    fn reprojection_jacobian_against_central_differences() {
        let mut rng = fd::Rng(13);
        for rotation in [1.0, 1e-3, 0.0] {
            let cam = camera(&mut rng, rotation);
            let x = rng.vec(3, -1.0, 1.0);
            let (w, feat) = (0.8, vec![0.1, -0.2]);
            let flat: Vec<f64> = cam.iter().chain(&x).chain([&w]).copied().collect();
            for (row, unit) in [[1.0, 0.0], [0.0, 1.0]].iter().enumerate() {
                let (v, (gc, gx, gw)) = reproj_error_vjp(&cam, &x, w, &feat, unit);
                assert_eq!(v, reproj_error(&cam, &x, w, &feat));
                let got: Vec<f64> = gc.iter().chain(&gx).chain([&gw]).copied().collect();
                let f = |v: &[f64]| reproj_error(&v[..11], &v[11..14], v[14], &feat)[row];
                // At rotation 0 the differences step into the other
                // branch, which agrees with this one to first order.
                let want = fd::gradient(f, &flat, 1e-7);
                fd::assert_close(&got, &want, 1e-5);
            }
        }
    }

    #[test]
    fn sparse_layout_matches_the_blocks() {
        let input = Input {
            n: 2,
            m: 3,
            p: 4,
            cam: camera(&mut fd::Rng(14), 1.0),
            x: vec![0.3, -0.2, 0.5],
            w: 0.9,
            feat: vec![0.1, 0.2],
        };
        let problem = Problem::new(&input).unwrap();
        let j = problem.jacobian();
        assert_eq!(j.rows.len(), 3 * 4 + 1);
        assert_eq!(*j.rows.last().unwrap(), 4 * 2 * 15 + 4);
        // Observation 3 sees camera 1 and point 0; its weight is column 11·2 + 3·3 + 3.
        let start = j.rows[6];
        assert_eq!(j.cols[start], 11);
        assert_eq!(j.cols[start + 11], 22);
        assert_eq!(j.cols[start + 14], 22 + 9 + 3);
        // The weight errors' derivatives, −2w.
        assert_eq!(*j.vals.last().unwrap(), -1.8);
    }
}
