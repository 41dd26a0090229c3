//! Model configurations, named as in the paper's Table 2.
//!
//! A name reads `FRONTEND-<L>l-<H>h-<UNIT>` for recurrent models
//! (`scat-5l-512h-gru`, `mel-5l-512h-lstm`, `scat-4l-256h-gru`) and
//! `FRONTEND-4l-cnn` for the convolutional baseline of Table 1. Parsing is
//! case-insensitive (the paper writes `Scat-5L-512H-GRU`); printing is lower
//! case. The name says which front end the model was trained on, but not how
//! many coefficients per frame that front end gives: that is `input_size`,
//! a plain number taken from the front end (≈644 for scattering, 96 for mel,
//! 84 for CQT).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::tags::TAG_COUNT;

/// Which front end a model reads: only a label here (sizes come from
/// `input_size`), the one the front ends define; a feature configuration's
/// [`FrontEnd::kind`](crate::transform::FrontEnd::kind) gives it.
pub use crate::transform::FrontEndKind;

/// Recurrent unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cell {
    /// Gated recurrent unit, PyTorch `nn.GRU` equations (reset gate applied after
    /// the hidden projection, separate input and hidden biases).
    Gru,
    /// Long short-term memory, PyTorch `nn.LSTM` equations (no peepholes).
    Lstm,
}

impl Cell {
    /// `gru` or `lstm`.
    pub fn as_str(self) -> &'static str {
        match self {
            Cell::Gru => "gru",
            Cell::Lstm => "lstm",
        }
    }

    /// Number of gate blocks in the stacked projections (3 for GRU, 4 for LSTM).
    pub fn gates(self) -> usize {
        match self {
            Cell::Gru => 3,
            Cell::Lstm => 4,
        }
    }
}

/// The network behind a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Architecture {
    /// Stacked recurrent layers, then a dense sigmoid layer (paper §4.3, Fig. 4).
    Rnn {
        /// Recurrent unit.
        cell: Cell,
        /// Number of stacked recurrent layers.
        layers: usize,
        /// Hidden units per layer.
        hidden: usize,
    },
    /// The 4-layer CNN of Table 1 (conv 3×3 with 128/384/768/2048 channels,
    /// max-pooling 2×3, 3×6, 4×6, 4×4, dropout 0.5, dense sigmoid layer).
    Cnn,
}

/// Number of convolutional layers of [`Architecture::Cnn`] (Table 1).
pub const CNN_LAYERS: usize = 4;

/// A complete model configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// The front end the model reads.
    pub front_end: FrontEndKind,
    /// The network.
    pub architecture: Architecture,
    /// Coefficients per frame (the front end's row count).
    pub input_size: usize,
    /// Number of output tags (50).
    pub tags: usize,
    /// Dropout probability (fraction of activations zeroed) between layers while
    /// training; inference never drops. See [`ModelConfig::default_dropout`].
    pub dropout: f64,
}

/// Why a model name or configuration was rejected (a front end's is
/// [`crate::transform::ConfigError`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelConfigError {
    /// The name does not follow `FRONTEND-<L>l-<H>h-<UNIT>` or `FRONTEND-4l-cnn`.
    #[error(
        "bad model name {name:?}: {reason} (expected e.g. scat-5l-512h-gru, mel-5l-512h-lstm, scat-4l-cnn)"
    )]
    BadName {
        /// The rejected name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A size or probability is out of range.
    #[error("invalid model configuration: {0}")]
    Invalid(String),
}

impl ModelConfig {
    /// The configuration a name describes, for a front end giving `input_size`
    /// coefficients per frame, with the default dropout and 50 tags.
    pub fn from_name(name: &str, input_size: usize) -> Result<Self, ModelConfigError> {
        let spec: ModelName = name.parse()?;
        let config = ModelConfig {
            front_end: spec.front_end,
            architecture: spec.architecture,
            input_size,
            tags: TAG_COUNT,
            dropout: Self::default_dropout(&spec.architecture),
        };
        config.validate()?;
        Ok(config)
    }

    /// The paper's name of this configuration, e.g. `scat-5l-512h-gru`.
    pub fn name(&self) -> String {
        ModelName {
            front_end: self.front_end,
            architecture: self.architecture,
        }
        .to_string()
    }

    /// Default dropout probability.
    ///
    /// Recurrent models: 0.25. The paper (§5.2) sets "dropout without memory
    /// loss [38] … as 0.75" with TensorFlow, whose RNN dropout wrapper takes a
    /// *keep* probability, and 0.75 of activations dropped between five layers
    /// would leave too little signal to learn from; so we read it as keep 0.75,
    /// i.e. drop 0.25. "Without memory loss" means the recurrent state itself
    /// is never dropped: we apply dropout only to each layer's output sequence
    /// (between layers and before the dense layer), never inside the
    /// recurrence, so training and inference run the same recurrence.
    ///
    /// CNN: 0.5 after each pooling layer, as in Table 1.
    pub fn default_dropout(architecture: &Architecture) -> f64 {
        match architecture {
            Architecture::Rnn { .. } => 0.25,
            Architecture::Cnn => 0.5,
        }
    }

    /// Check sizes and probabilities.
    pub fn validate(&self) -> Result<(), ModelConfigError> {
        if self.input_size == 0 {
            return Err(ModelConfigError::Invalid(
                "input_size must be at least 1".into(),
            ));
        }
        if self.tags == 0 {
            return Err(ModelConfigError::Invalid("tags must be at least 1".into()));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(ModelConfigError::Invalid(format!(
                "dropout must be in [0, 1), got {}",
                self.dropout
            )));
        }
        if let Architecture::Rnn { layers, hidden, .. } = self.architecture {
            if layers == 0 || layers > 64 {
                return Err(ModelConfigError::Invalid(format!(
                    "layers must be in 1..=64, got {layers}"
                )));
            }
            if hidden == 0 || hidden > 65536 {
                return Err(ModelConfigError::Invalid(format!(
                    "hidden must be in 1..=65536, got {hidden}"
                )));
            }
        }
        Ok(())
    }

    /// Number of trainable parameters this configuration has.
    ///
    /// Recurrent layers follow PyTorch (two bias vectors per layer), so a GRU
    /// layer has `3·H·(I + H) + 6·H` parameters; the paper's TensorFlow cells
    /// have one bias (`3·H` fewer), e.g. 7 776 306 for Scat-5L-512H-GRU with its
    /// 433 inputs, where ours has 7 776 306 + 5·1536.
    pub fn parameter_count(&self) -> usize {
        match self.architecture {
            Architecture::Rnn {
                cell,
                layers,
                hidden,
            } => {
                let g = cell.gates();
                let mut n = 0;
                let mut input = self.input_size;
                for _ in 0..layers {
                    n += g * hidden * (input + hidden) + 2 * g * hidden;
                    input = hidden;
                }
                n + hidden * self.tags + self.tags
            }
            Architecture::Cnn => {
                let mut n = 0;
                let mut c_in = 1;
                for c_out in super::cnn::CHANNELS {
                    n += 9 * c_in * c_out + c_out; // conv weight + bias
                    n += 2 * c_out; // batch-norm gamma + beta
                    c_in = c_out;
                }
                n + c_in * self.tags + self.tags
            }
        }
    }
}

/// The parsed form of a model name: front end + architecture, no sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelName {
    /// Front end label.
    pub front_end: FrontEndKind,
    /// Network.
    pub architecture: Architecture,
}

impl fmt::Display for ModelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.architecture {
            Architecture::Rnn {
                cell,
                layers,
                hidden,
            } => write!(
                f,
                "{}-{layers}l-{hidden}h-{}",
                self.front_end.as_str(),
                cell.as_str()
            ),
            Architecture::Cnn => write!(f, "{}-{CNN_LAYERS}l-cnn", self.front_end.as_str()),
        }
    }
}

impl FromStr for ModelName {
    type Err = ModelConfigError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| ModelConfigError::BadName {
            name: name.to_string(),
            reason: reason.to_string(),
        };
        let lower = name.trim().to_ascii_lowercase();
        let parts: Vec<&str> = lower.split('-').collect();
        let Some(front_end) = parts.first().copied().and_then(FrontEndKind::from_prefix) else {
            return Err(bad("front end must be scat, mel or cqt"));
        };
        let number = |part: &str, suffix: char, what: &str| -> Result<usize, ModelConfigError> {
            let digits = part
                .strip_suffix(suffix)
                .ok_or_else(|| bad(&format!("{what} must be written like 5{suffix}")))?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(&format!(
                    "{what} must be a number followed by {suffix}"
                )));
            }
            digits
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| bad(&format!("{what} must be a positive number")))
        };
        match parts.as_slice() {
            [_, layers, "cnn"] => {
                let layers = number(layers, 'l', "layer count")?;
                if layers != CNN_LAYERS {
                    return Err(bad("only the 4-layer CNN of Table 1 exists (…-4l-cnn)"));
                }
                Ok(ModelName {
                    front_end,
                    architecture: Architecture::Cnn,
                })
            }
            [_, layers, hidden, unit] => {
                let layers = number(layers, 'l', "layer count")?;
                let hidden = number(hidden, 'h', "hidden size")?;
                let cell = match *unit {
                    "gru" => Cell::Gru,
                    "lstm" => Cell::Lstm,
                    _ => return Err(bad("unit must be gru or lstm")),
                };
                Ok(ModelName {
                    front_end,
                    architecture: Architecture::Rnn {
                        cell,
                        layers,
                        hidden,
                    },
                })
            }
            _ => Err(bad("wrong number of parts")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in [
            "scat-5l-512h-gru",
            "mel-5l-512h-lstm",
            "cqt-5l-512h-gru",
            "scat-4l-256h-gru",
            "scat-4l-cnn",
        ] {
            let spec: ModelName = name.parse().unwrap();
            assert_eq!(spec.to_string(), name);
            assert_eq!(ModelConfig::from_name(name, 644).unwrap().name(), name);
        }
        let paper: ModelName = "Scat-5L-512H-GRU".parse().unwrap();
        assert_eq!(
            paper.architecture,
            Architecture::Rnn {
                cell: Cell::Gru,
                layers: 5,
                hidden: 512
            }
        );
    }

    #[test]
    fn bad_names_are_typed_errors() {
        for name in [
            "",
            "scat",
            "wav-5l-512h-gru",
            "scat-5-512h-gru",
            "scat-5l-512-gru",
            "scat-0l-512h-gru",
            "scat-5l-512h-rnn",
            "scat-5l-cnn",
            "scat-xl-512h-gru",
            "scat-5l-512h-gru-extra",
            "scat--512h-gru",
        ] {
            let err = name.parse::<ModelName>().unwrap_err();
            assert!(
                matches!(err, ModelConfigError::BadName { .. }),
                "{name}: {err:?}"
            );
            assert!(err.to_string().contains("bad model name"));
        }
        assert!(matches!(
            ModelConfig::from_name("scat-5l-512h-gru", 0),
            Err(ModelConfigError::Invalid(_))
        ));
    }

    #[test]
    fn parameter_counts_match_the_paper_up_to_the_second_bias() {
        // Table 2 counts TensorFlow cells (one bias per gate) on 433 inputs.
        let gru = ModelConfig::from_name("scat-5l-512h-gru", 433).unwrap();
        assert_eq!(gru.parameter_count() - 5 * 3 * 512, 7_776_306); // paper: 7776K
        let gru4 = ModelConfig::from_name("scat-4l-512h-gru", 433).unwrap();
        assert_eq!((gru4.parameter_count() - 4 * 3 * 512) / 1000, 6_201); // paper: 6202K
        let lstm4 = ModelConfig::from_name("scat-4l-512h-lstm", 433).unwrap();
        assert_eq!((lstm4.parameter_count() - 4 * 4 * 512) / 1000, 8_260); // paper: 8260K
        // The CNN with a global max-pool before its 2048×50 dense layer: 17365K in
        // the paper (which counts batch-norm's γ and β, as we do).
        let cnn = ModelConfig::from_name("scat-4l-cnn", 433).unwrap();
        assert_eq!(cnn.parameter_count() / 1000, 17_365);
    }
}
