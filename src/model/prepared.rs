//! The GRU layers' weights laid out once per loaded model.
//!
//! Inference on the CPU backend runs GRU layers on host slices
//! ([`super::host_gru`]), which want each weight in column panels
//! ([`super::panels`]). Laying the hidden weights out on every forward call
//! (a 3 MB copy and a 3 MB repack per layer of the 5 × 512 model) cost 4 of
//! its 35 ms on a 29 s clip at batch 1, so a [`super::Model`] keeps them once
//! laid out, and lends them to its own forward passes:
//! [`PreparedLayers::scope`] makes them visible to
//! [`RecurrentLayer`](super::RecurrentLayer)s on this thread, found by their
//! hidden weight's parameter id.
//!
//! Why a scope and not a field of the layer: a module's weights change under
//! training (optimizer steps keep parameter ids and would carry a cached copy
//! along, stale). A loaded `Model` never changes its weights (its network is
//! not reachable mutably), so a copy it holds is always current.

use std::cell::RefCell;
use std::sync::Arc;

use burn::module::ParamId;
use burn::tensor::Device;

use super::host_gru::LayerWeights;
use super::rnn::runs_host_loop;
use super::{Net, Tagger};

thread_local! {
    static CURRENT: RefCell<Option<Arc<PreparedLayers>>> = const { RefCell::new(None) };
}

/// The layout of every GRU layer's weights, by its hidden weight's parameter id.
pub struct PreparedLayers {
    layers: Vec<(ParamId, Arc<LayerWeights>)>,
}

impl std::fmt::Debug for PreparedLayers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PreparedLayers({} layers)", self.layers.len())
    }
}

impl PreparedLayers {
    /// Lay out the weights of `tagger`'s GRU layers (none for LSTMs
    /// and CNNs, whose loops run as tensors).
    pub fn new(tagger: &Tagger) -> Self {
        let Net::Rnn(net) = &tagger.net else {
            return PreparedLayers { layers: Vec::new() };
        };
        let layers = net
            .layers
            .iter()
            .filter(|l| !l.lstm)
            .map(|l| (l.hidden.weight.id, Arc::new(l.host_weights())))
            .collect();
        PreparedLayers { layers }
    }

    /// Run `f`, forward passes of `tagger` on `device`, with its layouts
    /// made once for all of them where they are used (the CPU backend; on
    /// another device `f` alone). For callers without a [`super::Model`],
    /// such as the trainer's evaluation of a snapshot over many batches.
    pub fn scope_for<R>(tagger: &Tagger, device: &Device, f: impl FnOnce() -> R) -> R {
        if !runs_host_loop(device) {
            return f();
        }
        Arc::new(Self::new(tagger)).scope(f)
    }

    /// Run `f` with these layouts visible to [`lookup`] on this thread (the
    /// previous scope, if any, is restored after, also on a panic).
    pub fn scope<R>(self: &Arc<Self>, f: impl FnOnce() -> R) -> R {
        struct Restore(Option<Arc<PreparedLayers>>);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT.with(|c| *c.borrow_mut() = self.0.take());
            }
        }
        let _restore = Restore(CURRENT.with(|c| c.borrow_mut().replace(self.clone())));
        f()
    }
}

/// The layout of the GRU layer whose hidden weight has parameter id `id`, if a
/// [`PreparedLayers::scope`] on this thread has it.
pub fn lookup(id: ParamId) -> Option<Arc<LayerWeights>> {
    CURRENT.with(|c| {
        let current = c.borrow();
        let layers = &current.as_ref()?.layers;
        layers
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, w)| w.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelConfig;
    use burn::tensor::Device;

    #[test]
    fn layers_are_found_by_id_inside_the_scope_only() {
        let device = Device::flex();
        let config = ModelConfig::from_name("scat-3l-8h-gru", 5).unwrap();
        let tagger = Tagger::new(&config, &device).unwrap();
        let Net::Rnn(net) = &tagger.net else {
            unreachable!("a GRU config builds an RNN")
        };
        let ids: Vec<ParamId> = net.layers.iter().map(|l| l.hidden.weight.id).collect();
        let prepared = Arc::new(PreparedLayers::new(&tagger));
        assert!(lookup(ids[0]).is_none());
        prepared.scope(|| {
            for (id, layer) in ids.iter().zip(&prepared.layers) {
                let found = lookup(*id).expect("a layer of the scope's model");
                assert!(Arc::ptr_eq(&found, &layer.1));
            }
            // A nested scope (another model) hides this one, then restores it.
            let other = Arc::new(PreparedLayers::new(&Tagger::new(&config, &device).unwrap()));
            other.scope(|| assert!(lookup(ids[0]).is_none()));
            assert!(lookup(ids[0]).is_some());
        });
        assert!(lookup(ids[0]).is_none());
    }

    /// (On x86-64: elsewhere the loop keeps fp32, see `panels`.)
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn an_int8_model_files_weights_are_laid_out_in_int8() {
        let device = Device::flex();
        let path = crate::test_support::manifest_dir().join("models/scat-4l-256h-gru.bpk");
        let bytes = std::fs::read(path).unwrap();
        let (tagger, _) = crate::model::file::load(&bytes, &device).unwrap();
        let prepared = PreparedLayers::new(&tagger);
        assert_eq!(prepared.layers.len(), 4);
        assert!(prepared.layers.iter().all(|(_, w)| w.is_int8()));
        // Weights that are not int8 products (a fresh network's) stay fp32.
        let config = ModelConfig::from_name("scat-3l-8h-gru", 5).unwrap();
        let fresh = PreparedLayers::new(&Tagger::new(&config, &device).unwrap());
        assert!(fresh.layers.iter().all(|(_, w)| !w.is_int8()));
    }
}
