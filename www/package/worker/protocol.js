// The messages between the engine (../engine.js), its coordinating worker
// and the helpers, named once. Values are the wire strings.
//
// engine → coordinator
//   INIT {module}                       the compiled WASM module
//   MODEL {bytes}                       the model file (ArrayBuffer)
//   WEBGPU_INIT {module?, error?, pending?, attempt} the WebGPU build's compiled module (or why there
//                                       is none; pending: try `attempt` is under way, jobs wait for it);
//                                       start WebGPU (a WebGPU job waits for it)
//   DECODE {id, bytes, extension, monoRate, maxSeconds}   a file, with the core's decoder (the CLI's)
//   SCATTER {id, channels: [Float32Array…], sampleRate, fileRate?, backend}
//   RETAG {id, backend}                 the last audio's tags on another backend
//   LIVE_START {sampleRate} · LIVE_PUSH {pcm} · LIVE_STOP
// coordinator → engine
//   READY {initMs, core: {sampleRate, minSeconds}} · ERROR {id?, message, fatal?, crashed?}
//   MODEL_READY {info, sameFrontEnd, workers, ms} · MODEL_ERROR {message}
//   WEBGPU {ok, message?, ms}
//   PROGRESS {id, stage, done, total, passes?}
//   DECODED {id, audio: {channels: [Float32Array…], sampleRate, fileRate, fileChannels, frames, seconds, earlyEnd, nonFinite}}
//   RESULT {id, scatter: {rows, frames, data, times, paths, windows}, tags, tagError, timings}
//   TAGS {id, tags, timings}
//   LIVE {hop, freqs, frames: [{t, values}]} · LIVE_TAGS {tags, clip, top, silent, support, seconds, ms} · LIVE_ERROR {message}
// coordinator → helper (each carries `call`, echoed in the reply)
//   INIT {module, helper: true} · MODEL {bytes} → MODEL_READY
//   JOB {mono, filled, part, parts, scores, sourceRate} → JOB {result, featuresMs, scores?, scoresMs?, scoresError?}
//   JOB_SCORES → JOB_SCORES {scores}   (scores: TagModel.job_scores's {indices, logit_frames, scores, logits})
//   helper replies PROGRESS {call, done, total, stage?} and ERROR {call, message, crashed}
export const MSG = Object.freeze({
  INIT: 'init',
  MODEL: 'model',
  WEBGPU_INIT: 'webgpu-init',
  DECODE: 'decode',
  DECODED: 'decoded',
  SCATTER: 'scatter',
  RETAG: 'retag',
  LIVE_START: 'live-start',
  LIVE_PUSH: 'live-push',
  LIVE_STOP: 'live-stop',
  READY: 'ready',
  ERROR: 'error',
  MODEL_READY: 'model-ready',
  MODEL_ERROR: 'model-error',
  WEBGPU: 'webgpu',
  PROGRESS: 'progress',
  RESULT: 'result',
  TAGS: 'tags',
  LIVE: 'live',
  LIVE_TAGS: 'live-tags',
  LIVE_ERROR: 'live-error',
  JOB: 'job',
  JOB_SCORES: 'job-scores',
});

export function messageOf(e) {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** A WASM trap (panic) leaves the instance unusable: the engine starts a new worker. */
export function crashed(e) {
  return e instanceof WebAssembly.RuntimeError;
}
