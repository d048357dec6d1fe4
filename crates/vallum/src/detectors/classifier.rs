//! The transformer injection classifier as a detector: it scores the normalised view in
//! overlapping windows (so nothing is truncated), plus one window per paragraph, and
//! reports the narrowest windows that score at least `classifier.min_score`, mapped back to
//! the caller's text.

use std::sync::{Arc, Mutex};

use vallum_classifier::{Classifier, ClassifierOptions, Device};

use crate::{
    BuildError, Category, Detector, Direction, Finding, Policy, ScanError, ScanInput, Span,
};

/// A narrower window scoring at most this much below a window that holds it explains it.
const EXPLAINS: f32 = 0.05;

/// Rule id reported by classifier findings.
pub(crate) const RULE: &str = "classifier.injection";

/// The classifier detector.
#[derive(Debug)]
pub(crate) struct ClassifierDetector {
    model: Classifier,
    min_score: f32,
}

fn options(policy: &Policy) -> ClassifierOptions {
    let device = match policy.classifier.device.as_str() {
        "cpu" => Device::Cpu,
        "cuda" => Device::Cuda(0),
        d => d
            .strip_prefix("cuda:")
            .and_then(|n| n.parse().ok())
            .map_or(Device::Auto, Device::Cuda),
    };
    ClassifierOptions {
        device,
        threads: policy.classifier.threads,
        ..ClassifierOptions::default()
    }
}

/// The installed model for these options, loaded once per process and shared.
fn installed(opts: &ClassifierOptions) -> Result<Option<Classifier>, BuildError> {
    static LOADED: Mutex<Vec<(ClassifierOptions, Option<Classifier>)>> = Mutex::new(Vec::new());
    let mut loaded = LOADED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, model)) = loaded.iter().find(|(o, _)| o == opts) {
        return Ok(model.clone());
    }
    let model =
        Classifier::load_installed(opts.clone()).map_err(|e| BuildError::Model(e.to_string()))?;
    loaded.push((opts.clone(), model.clone()));
    Ok(model)
}

/// The classifier detector when the policy enables it and a model is installed. No model
/// installed: `Ok(None)`, or an error when the policy says `classifier.require_model`.
pub(crate) fn detector(policy: &Policy) -> Result<Option<Arc<dyn Detector>>, BuildError> {
    if !policy.detectors.classifier {
        return Ok(None);
    }
    let model = installed(&options(policy))?;
    if model.is_none() && policy.classifier.require_model {
        return Err(BuildError::Model(format!(
            "the policy requires the classifier (`detectors.classifier = true`), but {} is not \
             installed ($VALLUM_MODEL_DIR or the default folder); install it with \
             scripts/classifier/install_model.sh, or leave `detectors.classifier` unset to use \
             it only when installed",
            vallum_classifier::MODEL_NAME
        )));
    }
    Ok(model.map(|model| {
        Arc::new(ClassifierDetector {
            model,
            min_score: policy.classifier.min_score,
        }) as Arc<dyn Detector>
    }))
}

impl ClassifierDetector {
    fn report(
        &self,
        input: &ScanInput<'_>,
        windows: &[vallum_classifier::WindowScore],
        out: &mut Vec<Finding>,
    ) {
        let firing: Vec<(usize, usize, f32)> = windows
            .iter()
            .filter(|w| w.score >= self.min_score)
            .map(|w| (w.start, w.end, w.score))
            .collect();
        // Overlapping windows left merge into one finding with the best score.
        let mut current: Option<(Span, f32)> = None;
        for (start, end, score) in narrowest(&firing) {
            let span = input.view.to_original(Span::new(start, end));
            current = match current {
                Some((s, best)) if span.start < s.end => Some((s.union(span), best.max(score))),
                Some((s, best)) => {
                    out.push(finding(s, best));
                    Some((span, score))
                }
                None => Some((span, score)),
            };
        }
        if let Some((s, best)) = current {
            out.push(finding(s, best));
        }
    }
}

/// The windows to report among `firing` (ordered by (start, end)): a window that holds a
/// narrower one scoring about as high (a paragraph inside a plain window) gives way to it,
/// lending it its score, so that the finding points at the passage that scored. Narrower
/// windows that score clearly lower do not explain it, so it stays.
fn narrowest(firing: &[(usize, usize, f32)]) -> Vec<(usize, usize, f32)> {
    let mut score: Vec<f32> = firing.iter().map(|w| w.2).collect();
    let mut gives_way = vec![false; firing.len()];
    for (i, &(start, end, s)) in firing.iter().enumerate() {
        // Narrower windows inside it: same start and a smaller end (just before it in the
        // order), or a later start and an end no later than its own.
        let before = firing[..i]
            .iter()
            .enumerate()
            .rev()
            .take_while(|(_, v)| v.0 == start)
            .filter(|(_, v)| v.1 < end);
        let after = firing[i + 1..]
            .iter()
            .enumerate()
            .map(|(k, v)| (i + 1 + k, v))
            .take_while(|(_, v)| v.0 < end)
            .filter(|(_, v)| v.0 > start && v.1 <= end);
        for (j, _) in before.chain(after).filter(|(_, v)| v.2 + EXPLAINS >= s) {
            gives_way[i] = true;
            score[j] = score[j].max(s);
        }
    }
    firing
        .iter()
        .zip(score)
        .zip(gives_way)
        .filter(|(_, gone)| !gone)
        .map(|((w, score), _)| (w.0, w.1, score))
        .collect()
}

fn finding(span: Span, score: f32) -> Finding {
    Finding::new(Category::PromptInjection, "classifier", RULE, span, score)
}

fn applies(input: &ScanInput<'_>) -> bool {
    input.direction == Direction::Input && !input.view.as_str().trim().is_empty()
}

impl Detector for ClassifierDetector {
    fn name(&self) -> &'static str {
        "classifier"
    }

    fn model_sha256(&self) -> Option<&str> {
        Some(self.model.model_sha256())
    }

    fn scan(&self, input: &ScanInput<'_>, findings: &mut Vec<Finding>) -> Result<(), ScanError> {
        if !applies(input) {
            return Ok(());
        }
        // On the process pool, as batches are: candle's matrix products run on the rayon
        // pool they are called from, and rayon's global pool does not survive a fork.
        let windows = crate::pool::BATCH
            .install(|| self.model.score(input.view.as_str()))
            .map_err(|e| ScanError::Model(e.to_string()))?;
        self.report(input, &windows, findings);
        Ok(())
    }

    fn scan_batch(
        &self,
        inputs: &[ScanInput<'_>],
        findings: &mut [Vec<Finding>],
    ) -> Result<(), ScanError> {
        let chosen: Vec<usize> = (0..inputs.len()).filter(|&i| applies(&inputs[i])).collect();
        let texts: Vec<&str> = chosen.iter().map(|&i| inputs[i].view.as_str()).collect();
        let scores = self
            .model
            .score_batch(&texts)
            .map_err(|e| ScanError::Model(e.to_string()))?;
        for (&i, windows) in chosen.iter().zip(&scores) {
            self.report(&inputs[i], windows, &mut findings[i]);
        }
        Ok(())
    }

    /// None: the classifier scores inputs only, and a stream is an answer (output), so a
    /// stream never needs to hold text back for it.
    fn max_window(&self) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::narrowest;

    #[test]
    fn a_window_gives_way_to_a_narrower_one_that_explains_it() {
        // A plain window and the paragraph inside it both fire: the paragraph is reported,
        // with the plain window's higher score.
        assert_eq!(
            narrowest(&[(0, 100, 0.99), (40, 60, 0.97)]),
            [(40, 60, 0.99)]
        );
        // Same start, smaller end.
        assert_eq!(narrowest(&[(0, 20, 0.95), (0, 100, 0.96)]), [(0, 20, 0.96)]);
        // A paragraph scoring clearly lower does not explain the window: both stay.
        assert_eq!(
            narrowest(&[(0, 100, 0.99), (40, 60, 0.91)]),
            [(0, 100, 0.99), (40, 60, 0.91)]
        );
        // Overlapping but not nested windows both stay; so do equal spans.
        assert_eq!(
            narrowest(&[(0, 100, 0.95), (50, 150, 0.95)]),
            [(0, 100, 0.95), (50, 150, 0.95)]
        );
        assert_eq!(
            narrowest(&[(0, 100, 0.95), (0, 100, 0.96)]),
            [(0, 100, 0.95), (0, 100, 0.96)]
        );
        // A paragraph inside the first window but not the second: only the first gives way.
        assert_eq!(
            narrowest(&[(0, 100, 0.97), (60, 80, 0.98), (70, 200, 0.99)]),
            [(60, 80, 0.98), (70, 200, 0.99)]
        );
        // Two windows over one paragraph both give way to it.
        assert_eq!(
            narrowest(&[(0, 100, 0.97), (70, 90, 0.98), (70, 200, 0.99)]),
            [(70, 90, 0.99)]
        );
        assert!(narrowest(&[]).is_empty());
    }
}
