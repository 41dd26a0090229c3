// Audio-thread tap for the live scattergram: mixes the microphone to mono
// and posts blocks of 4096 samples to the page (which forwards them to the
// worker). Display only; a finished recording is analysed from the file.
class ScatterbrainTap extends AudioWorkletProcessor {
  constructor() {
    super();
    this.block = new Float32Array(4096);
    this.n = 0;
  }

  process(inputs) {
    const chans = inputs[0];
    if (!chans || chans.length === 0) return true;
    const len = chans[0].length;
    const k = 1 / chans.length;
    for (let i = 0; i < len; i++) {
      let s = 0;
      for (let c = 0; c < chans.length; c++) s += chans[c][i];
      this.block[this.n++] = s * k;
      if (this.n === this.block.length) {
        this.port.postMessage(this.block, [this.block.buffer]);
        this.block = new Float32Array(4096);
        this.n = 0;
      }
    }
    return true;
  }
}
registerProcessor('scatterbrain-tap', ScatterbrainTap);
