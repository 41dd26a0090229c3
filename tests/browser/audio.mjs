// Test audio, generated (no fixtures): tones, a melody with harmonics and
// percussive noise, and a 16-bit PCM WAV writer.

/** Deterministic white noise in [-1, 1]. */
export function noise(i) {
  let x = (i + 1) * 0x9e3779b1;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return ((x >>> 0) / 0xffffffff) * 2 - 1;
}

export function tone(freq, seconds, rate, amp = 0.5) {
  const n = Math.round(seconds * rate);
  const out = new Float32Array(n);
  const fade = Math.min(n / 2, Math.round(0.01 * rate));
  for (let i = 0; i < n; i++) {
    const env = Math.min(1, i / fade, (n - 1 - i) / fade);
    out[i] = amp * env * Math.sin((2 * Math.PI * freq * i) / rate);
  }
  return out;
}

/** Notes with five harmonics and a tremolo, over a kick-and-hat beat. */
export function melody(seconds, rate) {
  const n = Math.round(seconds * rate);
  const out = new Float32Array(n);
  const notes = [262, 330, 392, 523, 392, 330, 294, 440];
  const noteLen = 0.375;
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const k = Math.floor(t / noteLen);
    const f = notes[k % notes.length];
    const tn = t - k * noteLen;
    const env = Math.exp(-3 * tn) * Math.min(1, tn / 0.005);
    let v = 0;
    for (let h = 1; h <= 5; h++) v += Math.sin(2 * Math.PI * f * h * t) / h;
    v *= 0.25 * env * (1 + 0.3 * Math.sin(2 * Math.PI * 6 * t));
    const tb = t % 0.75; // kick
    v += 0.5 * Math.exp(-tb / 0.05) * Math.sin(2 * Math.PI * (50 + 100 * Math.exp(-tb / 0.02)) * tb);
    const th = (t + 0.375) % 0.75; // hat
    v += 0.15 * Math.exp(-th / 0.01) * noise(i);
    out[i] = v;
  }
  return out;
}

/** 16-bit PCM WAV; with channels > 1 the right channel is slightly quieter. */
export function wav(samples, rate, channels = 1) {
  const n = samples.length;
  const data = Buffer.alloc(n * channels * 2);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < channels; c++) {
      const v = Math.max(-1, Math.min(1, samples[i] * (c === 0 ? 1 : 0.8)));
      data.writeInt16LE(Math.round(v * 32767), 2 * (i * channels + c));
    }
  }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}
