"""The teacher: musicnn's pretrained MTT_musicnn model (PyPI musicnn==0.1.0), loaded so that a
failed checkpoint load is fatal.

musicnn's stock `extractor()` wraps `saver.restore` in a bare `try/except` and carries on with the
randomly initialised graph when the restore fails, so its tags are then noise. Here the restore is not
guarded, and after it every trainable variable is compared with the checkpoint's stored value; any
missing or differing variable aborts.

The computation is musicnn's own (its `batch_data` + `extractor` with input_length=3 s, no overlap):
log10(10000·mel+1) of a 96-band mel spectrogram (16 kHz, n_fft 512, hop 256, float16 as musicnn does),
cut into 187-frame patches, sigmoid outputs averaged over the patches -> one score per tag.
"""

import os
import sys
import wave

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import librosa  # noqa: E402
import tensorflow as tf  # noqa: E402
from musicnn import configuration as config  # noqa: E402
from musicnn import models  # noqa: E402

MODEL = "MTT_musicnn"


class TeacherLoadError(RuntimeError):
    pass


class Teacher:
    def __init__(self, model=MODEL):
        tf.compat.v1.disable_eager_execution()
        self.labels = list(config.MTT_LABELS)
        self.n_frames = librosa.time_to_frames(3, sr=config.SR, n_fft=config.FFT_SIZE,
                                               hop_length=config.FFT_HOP) + 1
        tf.compat.v1.reset_default_graph()
        self.graph = tf.compat.v1.get_default_graph()
        with tf.name_scope("model"):
            self.x = tf.compat.v1.placeholder(tf.float32, [None, self.n_frames, config.N_MELS])
            self.is_training = tf.compat.v1.placeholder(tf.bool)
            out = models.define_model(self.x, self.is_training, model, len(self.labels))
            self.y = tf.nn.sigmoid(out[0])
        self.sess = tf.compat.v1.Session(config=tf.compat.v1.ConfigProto(
            intra_op_parallelism_threads=int(os.environ.get("TEACHER_THREADS", "2")),
            inter_op_parallelism_threads=1))
        self.sess.run(tf.compat.v1.global_variables_initializer())
        import musicnn
        prefix = os.path.join(os.path.dirname(musicnn.__file__), model) + "/"
        try:
            tf.compat.v1.train.Saver().restore(self.sess, prefix)
        except Exception as e:  # noqa: BLE001 - re-raised as fatal with context
            raise TeacherLoadError(f"musicnn checkpoint {prefix} failed to load: {e}") from e
        self._verify(prefix)

    def _verify(self, prefix):
        reader = tf.compat.v1.train.NewCheckpointReader(prefix)
        stored = reader.get_variable_to_shape_map()
        variables = tf.compat.v1.global_variables()
        if not variables:
            raise TeacherLoadError("teacher graph has no variables")
        values = self.sess.run(variables)
        for v, val in zip(variables, values):
            name = v.op.name
            if name not in stored:
                raise TeacherLoadError(f"variable {name} missing from the checkpoint")
            ref = reader.get_tensor(name)
            if ref.shape != val.shape or not np.array_equal(ref, val):
                raise TeacherLoadError(f"variable {name} differs from the checkpoint")
        self.n_vars = len(variables)

    def mel_patches(self, audio):
        rep = librosa.feature.melspectrogram(y=audio, sr=config.SR, hop_length=config.FFT_HOP,
                                             n_fft=config.FFT_SIZE, n_mels=config.N_MELS).T
        rep = rep.astype(np.float16)
        rep = np.log10(10000 * rep + 1)
        last = rep.shape[0] - self.n_frames + 1
        return np.stack([rep[t:t + self.n_frames] for t in range(0, last, self.n_frames)])

    def tag(self, audio):
        """audio: float32 mono at 16 kHz -> 50 scores in [0, 1] (mean of the 3 s taggram)."""
        batch = self.mel_patches(audio)
        taggram = self.sess.run(self.y, feed_dict={self.x: batch, self.is_training: False})
        return np.mean(taggram, axis=0)

    def tag_wav(self, path):
        with wave.open(str(path), "rb") as w:
            if w.getframerate() != config.SR or w.getnchannels() != 1 or w.getsampwidth() != 2:
                raise ValueError(f"{path}: expected 16 kHz mono 16-bit WAV")
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return self.tag(pcm.astype(np.float32) / 32768.0)


if __name__ == "__main__":
    t = Teacher()
    print(f"teacher loaded, {t.n_vars} variables verified against the checkpoint", file=sys.stderr)
    for p in sys.argv[1:]:
        s = t.tag_wav(p)
        top = np.argsort(-s)[:5]
        print(p, ", ".join(f"{t.labels[i]} {s[i]:.2f}" for i in top))
