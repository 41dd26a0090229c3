// A helper worker (module): one WASM instance with its own copy of the model,
// started by the coordinator (coordinator.js), one per core. For a job it
// scatters every n-th 29 s window of the shared mono audio — one scattering
// gives both the pictures' coefficients and the model input — and, on the
// CPU backend, scores those windows at once.
import init, { TagModel } from '../pkg/scatterbrain.js';
import { MSG, messageOf, crashed } from './protocol.js';

let gotModule;
const ready = new Promise((resolve) => (gotModule = resolve)).then((module) => init({ module_or_path: module }));
ready.catch(() => {}); // reported by the first call that needs it

let tagModel = null;
let modelLoading = null; // settles when the model sent last has loaded or failed

async function loadModel({ bytes }) {
  await ready;
  if (tagModel) tagModel.free();
  tagModel = null;
  try {
    // Weights now: the helpers are the ones that score on the CPU.
    tagModel = new TagModel(new Uint8Array(bytes), false);
  } catch (e) {
    if (tagModel) tagModel.free();
    tagModel = null;
    throw e;
  }
}

async function onModel(msg) {
  try {
    modelLoading = loadModel(msg);
    await modelLoading;
    if (!tagModel) throw new Error('the model could not be loaded');
    postMessage({ type: MSG.MODEL_READY, call: msg.call });
  } catch (e) {
    postMessage({ type: MSG.ERROR, call: msg.call, message: messageOf(e) });
    return;
  }
  // The front end's plan (~0.5 s), after "ready" and before the first file
  // (a job that comes sooner waits behind it, as it would have waited for it).
  try {
    tagModel.warm();
  } catch {
    // Shows again, and is reported, at the first job.
  }
}

// Seconds of mono per push, to keep the copy into the WASM memory small.
const SLICE_SECONDS = 5;

/** This instance's share of a job (see TagModel.job_*). */
async function onCall(msg) {
  const progress = (done, total, stage) => postMessage({ type: MSG.PROGRESS, call: msg.call, done, total, stage });
  try {
    await modelLoading;
    if (!tagModel) throw new Error('no model is loaded');
    if (msg.type === MSG.JOB) job(msg, progress);
    else if (msg.type === MSG.JOB_SCORES) {
      const scores = tagModel.job_scores(progress);
      postMessage({ type: MSG.JOB_SCORES, call: msg.call, scores }, [scores.scores.buffer, scores.logits.buffer]);
    }
  } catch (e) {
    postMessage({ type: MSG.ERROR, call: msg.call, message: messageOf(e), crashed: crashed(e) });
  }
}

function job(msg, progress) {
  const { mono, filled, part, parts, sourceRate } = msg;
  const t0 = performance.now();
  tagModel.job_start(mono.length, part, parts, sourceRate);
  // Streamed: `filled[0]` counts the samples written so far (-1: the
  // coordinator failed); wait for more until all are there. Otherwise all
  // of `mono` is there from the start.
  for (let at = 0; at < mono.length; ) {
    const have = filled ? Atomics.load(filled, 0) : mono.length;
    if (have < 0) throw new Error('the audio could not be converted');
    if (have === at) {
      Atomics.wait(filled, 0, at, 1000);
      continue;
    }
    const end = Math.min(have, at + SLICE_SECONDS * tagModel.sample_rate);
    tagModel.job_push(mono.subarray(at, end), progress);
    at = end;
  }
  const r = tagModel.job_finish(progress);
  const transfer = [r.raw.buffer, r.input.buffer];
  const reply = { type: MSG.JOB, call: msg.call, result: r, featuresMs: performance.now() - t0 };
  if (msg.scores) {
    // Score at once, while other helpers may still be scattering. A scoring
    // failure loses the tags, not the pictures.
    const t1 = performance.now();
    try {
      reply.scores = tagModel.job_scores(progress);
      transfer.push(reply.scores.scores.buffer, reply.scores.logits.buffer);
    } catch (e) {
      if (crashed(e)) throw e;
      reply.scoresError = messageOf(e);
    }
    reply.scoresMs = performance.now() - t1;
  }
  postMessage(reply, transfer);
}

self.onmessage = (ev) => {
  const msg = ev.data;
  if (msg.type === MSG.INIT) gotModule(msg.module);
  else if (msg.type === MSG.MODEL) onModel(msg);
  else onCall(msg);
};
