// A 16-bit PCM WAV file of decoded audio, for the player: a file cut short
// states its whole length in its header, so the player, given the file,
// shows a length (and a seek range) that the analysed audio does not have.

/** Planar Float32 `channels` at `sampleRate` → a WAV Blob (samples clipped to ±1, NaN as 0). */
export function wavBlob(channels, sampleRate) {
  const n = channels.length;
  const frames = channels[0].length;
  const bytes = 44 + 2 * n * frames;
  const view = new DataView(new ArrayBuffer(bytes));
  const text = (at, s) => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  text(0, 'RIFF');
  view.setUint32(4, bytes - 8, true);
  text(8, 'WAVEfmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // integer PCM
  view.setUint16(22, n, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2 * n, true);
  view.setUint16(32, 2 * n, true);
  view.setUint16(34, 16, true);
  text(36, 'data');
  view.setUint32(40, 2 * n * frames, true);
  const out = new Int16Array(view.buffer, 44);
  for (let c = 0; c < n; c++) {
    const ch = channels[c];
    for (let i = 0; i < frames; i++) {
      const x = ch[i] > 1 ? 1 : ch[i] < -1 ? -1 : ch[i] || 0;
      out[i * n + c] = Math.round(x * 32767);
    }
  }
  return new Blob([view.buffer], { type: 'audio/wav' });
}
