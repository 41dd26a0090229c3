// TypeScript declarations of scatterbrain-tagger/engine (engine.js): the
// tagger in module workers, for pages.

import type { ScatterResult, TagResult, TagSupport } from './index.js';

/** A WASM build: compiled, its bytes, a URL, a promise of any of these, or a function giving one (called again after a failure). */
export type WasmSource =
  | WebAssembly.Module
  | ArrayBuffer
  | ArrayBufferView
  | string
  | URL
  | Promise<WebAssembly.Module | ArrayBuffer | ArrayBufferView | string | URL>
  | (() => Promise<WebAssembly.Module | ArrayBuffer | ArrayBufferView | string | URL> | WebAssembly.Module | string | URL);

export interface EngineOptions {
  /** The CPU build (front end and model); by default the package's pkg/scatterbrain_bg.wasm. Compiled once, handed to every worker. */
  wasm?: WasmSource;
  /** The WebGPU build, used for the model only when WebGPU is asked for; by default the package's pkg-webgpu/scatterbrain_bg.wasm. */
  webgpuWasm?: WasmSource;
}

/** Start an engine: a coordinating module worker now, its helpers (one per core, up to 4) once the WASM is there. */
export function createEngine(options?: EngineOptions): Engine;

/** A job's failure in the engine. `crashed`: the WASM trapped, and the engine has already replaced its worker. */
export class EngineError extends Error {
  crashed: boolean;
}

export interface EngineProgress {
  /**
   * `transform`: the front end, windows scattered (with helpers, `passes: 1`; `total` windows, reported
   * up to `total` before `model` starts); `features`: one instance's second pass, the model's own front
   * end; `model`: windows scored; `decode` (of `decode`): bytes of the file read. Counts only grow
   * within a stage and may skip values.
   */
  stage: 'decode' | 'transform' | 'features' | 'model' | string;
  done: number;
  total: number;
  passes?: number;
}

export interface EngineJobOptions {
  /** `'cpu'` (default) or `'webgpu'` (falls back to the CPU, saying why in `tags.fallback`). */
  backend?: 'cpu' | 'webgpu';
  onProgress?: (progress: EngineProgress) => void;
  /** Aborting rejects the job with `signal.reason` and restarts the worker (the model carries over). */
  signal?: AbortSignal;
}

export interface AnalyseOptions extends EngineJobOptions {
  /**
   * The audio's rate in its file when it was resampled before (`decode`'s `fileRate` after a
   * `monoRate`): a file below the core's rate then holds nothing above its own Nyquist, as when
   * its PCM is given at that rate, and its scores stay the CLI's.
   */
  fileRate?: number;
}

export interface EngineTags extends Omit<TagResult, 'backend'> {
  backend: 'cpu' | 'webgpu';
  /** Why WebGPU was asked for and the CPU ran instead (null when it was not). */
  fallback: string | null;
}

export interface Analysis {
  /** The pictures' coefficients: the model's front end (or the default scattering without a model). */
  scatter: ScatterResult;
  /** Null without a model, or when tagging failed (`tagError`). */
  tags: EngineTags | null;
  /** Why the tags failed, or why the model given could not be loaded (null without a model). */
  tagError: string | null;
  /**
   * Milliseconds per stage, as measured on the way taken: `transformMs` (the front end), `modelMs` when the model ran;
   * with helpers (`workers`: how many), `resampleMs` (to mono at the model's rate) and, on the CPU, `scoresCpuMs`
   * (the helpers' time scoring windows while the others still scatter, summed); with one instance, `featuresMs`
   * (the model's own front end); `webgpuInitMs` the first time WebGPU starts.
   */
  timings: Record<string, number>;
}

export interface ModelReady {
  /** The model file's metadata (name, tags, front end, provenance, metrics…). */
  info: Record<string, any>;
  /** The model's front end is the pictures' (one pass serves both). */
  sameFrontEnd: boolean;
  /** Workers holding a copy. */
  workers: number;
  ms: number;
}

export interface LiveFrames {
  /** Seconds between frames. */
  hop: number;
  /** The S1 bands' centre frequencies, Hz. */
  freqs: number[];
  /** New frames: time since the live input began (s) and one value per band. */
  frames: { t: number; values: Float32Array }[];
}

export interface LiveTags {
  tags: string[];
  clip: number[];
  /** The core's ranking of `clip`, as `TagResult.top` (spelling variants folded into one row). */
  top: TagResult['top'];
  /** The latest input is silent (below −80 dBFS): `clip` is what the model says of nothing, not tags. */
  silent: boolean;
  /** How well the model knows each tag (as `TagResult.support`). */
  support: TagSupport;
  /** Seconds of the latest input they describe (up to 29). */
  seconds: number;
  ms: number;
}

/**
 * Events (`addEventListener`; each `detail` also carries the `generation` of
 * the worker it came from): `model` (ModelReady, or `{ error }`), `webgpu`
 * (`{ ok, message?, ms? }`), `live` (LiveFrames), `live-tags` (LiveTags),
 * `live-error` (`{ message }`).
 */
export interface DecodeOptions {
  /** The file's extension (`'mp3'`…), a hint at its format. */
  extension?: string;
  /** 0 (default): the file's rate and channels; else mixed to mono and resampled to this rate, as the core does. */
  monoRate?: number;
  /** Fail past this many seconds of audio (default: no limit). */
  maxSeconds?: number;
  onProgress?: (progress: EngineProgress) => void;
  signal?: AbortSignal;
}

/** A file decoded by the core (the native CLI's decoder). */
export interface Decoded {
  /** Planar samples, one Float32Array per output channel: ready for `analyse`. */
  channels: Float32Array[];
  /** The output's rate (the file's, or `monoRate`). */
  sampleRate: number;
  /** The file's own rate and channel count (pass `fileRate` on to `analyse`). */
  fileRate: number;
  fileChannels: number;
  /** Output frames per channel. */
  frames: number;
  /** Seconds of audio decoded. */
  seconds: number;
  /** Why the file ended before its end (cut short, shorter than its header says, damaged), as the CLI warns; null when whole. */
  earlyEnd: string | null;
  /** NaN or infinite samples read as silence (counted when mixing to mono here; else `analyse` counts them). */
  nonFinite: number;
  ms: number;
}

export class Engine extends EventTarget {
  /** Workers started so far: a restart (cancel, crash) makes a new one, which holds no audio. */
  readonly generation: number;
  /** The core's values, once `ready` has resolved. */
  readonly core: { sampleRate: number; minSeconds: number } | null;
  /** The current worker's WASM has started. */
  readonly ready: Promise<{ initMs: number; sampleRate: number; minSeconds: number }>;
  /** Settles when the current worker has loaded the model given last (or failed to, or there is none). */
  readonly modelReady: Promise<void>;
  /** Load a model file into this worker and every later one; null for none. */
  loadModel(bytes: ArrayBuffer | Promise<ArrayBuffer | null> | null): Promise<ModelReady | null>;
  /**
   * Pictures and tags of planar channels (transferred: copy them first to keep them), in one pass.
   * It waits for the model given to `loadModel` (also after a cancel or a restart, which reload it).
   * Rejects with a TypeError when `channels` is not a non-empty array of equally long Float32Arrays
   * or `sampleRate` is not a positive number.
   */
  analyse(channels: Float32Array[], sampleRate: number, options?: AnalyseOptions): Promise<Analysis>;
  /**
   * Decode a file's bytes (transferred) with the core's decoder, the native CLI's: MP3, WAV, AIFF,
   * FLAC, Ogg/Vorbis, so that the tags equal the CLI's. Rejects (an EngineError with the core's words) for
   * a file it cannot read, e.g. a format this build lacks (M4A, Opus: `browserDecode`, the browser's decoder,
   * may read those). Does not wait for the model.
   */
  decode(bytes: ArrayBuffer, options?: DecodeOptions): Promise<Decoded>;
  /**
   * The last analysed audio's tags on another backend (the worker keeps its model input). Rejects
   * when there is no model, or when this worker has analysed nothing yet (a cancel or a restart forgets the audio).
   */
  retag(backend: 'cpu' | 'webgpu', options?: Omit<EngineJobOptions, 'backend'>): Promise<{ tags: EngineTags; timings: Record<string, number> }>;
  /** Start WebGPU now (downloads the WebGPU build once); resolves with the milliseconds it took, rejects with why it could not (the next call tries again). */
  startWebgpu(): Promise<number>;
  /** Live view of an input at `sampleRate`: `live` events about twice a second, `live-tags` every ~3 s with a model; it carries over a restart (a cancel), afresh, until `stopLive`. */
  startLive(sampleRate: number): void;
  /** Samples of the live input (transferred). */
  pushLive(pcm: Float32Array): void;
  stopLive(): void;
  /** Replace the worker: jobs in progress reject with an AbortError; the compiled module and the model carry over. */
  restart(): void;
  terminate(): void;
}
