// TypeScript declarations of scatterbrain-tagger (index.js).

/** Where a file comes from: a URL (or, in Node, a path or file: URL), or its bytes. */
export type FileSource = string | URL | ArrayBuffer | ArrayBufferView;

export interface LoadOptions {
  /**
   * The WebAssembly (scatterbrain_bg.wasm); by default the package's own copy.
   * Only the first loadTagger() of a page, worker or process starts the WASM;
   * later calls reuse that instance and ignore this option.
   */
  wasm?: FileSource | WebAssembly.Module;
  /** The model file (.bpk), e.g. scat-4l-256h-gru.bpk. */
  model: FileSource;
}

/** Start the WASM (once) and load a model file onto the CPU backend. */
export function loadTagger(options: LoadOptions): Promise<Tagger>;

/** Interleaved PCM: `channels` channels at `sampleRate` Hz, frame after frame. */
export interface Pcm {
  pcm: Float32Array;
  sampleRate: number;
  /** Default 1. */
  channels?: number;
}

/** A Web Audio `AudioBuffer`, or anything shaped like one (planar channels). */
export interface AudioBufferLike {
  readonly numberOfChannels: number;
  readonly sampleRate: number;
  /** Frames per channel. */
  readonly length: number;
  getChannelData(channel: number): Float32Array;
}

/**
 * Audio to analyse. A file — a `Blob`/`File`, or its bytes as an `ArrayBuffer`
 * or `Uint8Array` (a Node `Buffer`) — is decoded by the core's decoder, the
 * native CLI's (MP3, WAV, AIFF, FLAC, Ogg/Vorbis, MP4/M4A), anywhere, mixed to
 * mono at the model's rate as it goes; in a browser page a `Blob`/`File` it
 * does not read (Opus…) is decoded by the browser's `decodeAudioData` at the
 * file's own rate.
 */
export type AudioInput = Pcm | AudioBufferLike | Blob | ArrayBuffer | Uint8Array;

export interface Progress {
  /**
   * `decode`: a file being decoded (done 0 or 1 of 1).
   * `analyse`: steps through the audio, one per ~5 s slice and a last one
   * for the end of the stream (where a file's last window is computed).
   * `model`: 29 s analysis windows scored.
   */
  stage: 'decode' | 'analyse' | 'model';
  done: number;
  total: number;
}

export interface JobOptions {
  /** Called between slices; an exception thrown here rejects the call. */
  onProgress?: (progress: Progress) => void;
  /**
   * Cancels between slices: the call then rejects with `signal.reason` (an
   * `AbortError` DOMException for a plain `abort()`).
   */
  signal?: AbortSignal;
}

/** Scores of a stretch of the audio, one per tag (in `TagResult.tags` order). */
export interface Span {
  start_s: number;
  end_s: number;
  scores: number[];
  /** A taggram column read from a window's first frames alone (the recurrent model still starting: a file's first ~2 s, and where a window starts on a column's edge, every 116 s); absent otherwise. */
  warm_up?: boolean;
}

export interface TagResult {
  /** Where the model ran: always `'cpu'` here (burn's CPU backend in WebAssembly). */
  backend: 'cpu';
  /** Tag names, in the order of every score list (the model file's). */
  tags: string[];
  /** The whole audio's scores in [0, 1]: the mean of the windows' scores, weighted by the audio each adds. */
  clip: number[];
  /**
   * Every tag ranked by `clip`, best first, as indices into `tags`; a tag's spelling variants (MagnaTagATune's
   * "no vocal" beside "no vocals", "vocal" beside "vocals", "beat" beside "beats") are folded into the row of the
   * better one (`also`, best first), as the CLI lists them.
   */
  top: { index: number; also: number[] }[];
  /** Scores of each 29 s analysis window. */
  windows: Span[];
  /** The frame-level taggram: one column per ~2 s. */
  taggram: Span[];
  duration_s: number;
  /** Input samples that were NaN or infinite (read as silence). */
  non_finite: number;
  /**
   * `tag()` of a file: why it ended before its end (cut short or damaged: only what was read is
   * analysed), in the CLI's words; null for a whole file or for PCM. For a file the browser
   * decodes (Opus, WebM…), from the file itself: its header declares more than was decoded, its
   * Ogg stream lacks its closing page, or its WebM stream ends partway through a block.
   */
  early_end?: string | null;
  /** The loudest sample of the mono audio the model hears, as a fraction of full scale. */
  peak: number;
  /** `peak` is below −80 dBFS: the analysis hears silence and `clip` means nothing (say so rather than show tags). */
  silent: boolean;
  /** Why there are no tags when `silent`, in the core's words (the CLI's and the page's); null otherwise. */
  silence_note: string | null;
  /** How well the model knows each tag, from the counts its file records: which scores are guesses. */
  support: TagSupport;
}

/** What the model file's per-tag counts say (the CLI's `?` marks, in the same words). */
export interface TagSupport {
  /** The file records per-tag counts (without them no tag is marked uncertain). */
  known: boolean;
  /** Clips a tag needs not to be uncertain (30 training clips, or 5 of a held-out split; 0 when `known` is false). */
  min: number;
  /** Which clips were counted: `'train'` or the held-out split's name; null when unknown. */
  split: string | null;
  /** How many clips that split has, when recorded. */
  clips: number | null;
  /** One per tag, in `tags` order. */
  tags: {
    /** A tag saying something is absent (“no vocals”). */
    negative: boolean;
    /** Too few clips had the tag (for an absence: what it negates) for its score to mean much. */
    uncertain: boolean;
    /** A short sentence; '' when nothing needs saying. */
    why: string;
    /** Clips counted for it (an absence: at most this many had what it negates); null when unknown. */
    count: number | null;
  }[];
  /** One line explaining the marks. */
  legend: string;
}

/** What one row of the coefficients is. */
export interface PathInfo {
  /** 0 (S0), 1 (S1) or 2 (S2). */
  order: number;
  /** Centre frequency of the first-order filter, Hz (null for S0). */
  freq1_hz: number | null;
  /** Centre frequency of the second-order filter, Hz (S2 only). */
  freq2_hz: number | null;
}

/** Raw scattering coefficients (S0, S1, S2) of the model's front end, on one time line. */
export interface ScatterResult {
  rows: number;
  frames: number;
  /** Row-major `rows × frames`. */
  data: Float32Array;
  /** Seconds at each frame. */
  times: Float64Array;
  paths: PathInfo[];
  /** Start (s) of each analysis window used. */
  windows: number[];
}

/** A model file ready to tag audio. Calls on one tagger run one at a time, in order. */
export class Tagger {
  private constructor();
  /** The model file's tag names. */
  readonly tags: string[];
  /** The model file's metadata: name, precision, tags, front end, provenance, metrics, size. */
  readonly info: Record<string, any> & { name: string; tags: string[] };
  /** The front end's sample rate in Hz (audio is converted to mono at this rate). */
  readonly sampleRate: number;
  /** The audio's tags. */
  tag(audio: AudioInput, options?: JobOptions): Promise<TagResult>;
  /** The audio's scattering coefficients, for pictures. */
  scatter(audio: AudioInput, options?: JobOptions): Promise<ScatterResult>;
  /** Release the WASM memory once the calls already made have ended; later calls reject. */
  free(): void;
}

/**
 * Decode a File/Blob with the browser's `decodeAudioData`, at the file's own sample rate when its
 * header says it (a plain `new AudioContext()` resamples to the device's rate first; the scores
 * then differ from the CLI's by ~4e-3): what `tag` falls back to for a format the core does not
 * read. Browsers only (Web Audio); rejects with a message for an empty file or one the browser
 * cannot decode. The engine's `decode` uses the core's decoder instead.
 */
export function decodeFile(file: Blob): Promise<AudioBuffer>;

/**
 * A file's bytes decoded by the browser's `decodeAudioData`, at `rate` (by default the file's own,
 * when its header states it): the buffer, and `earlyEnd`, in the core's words, when the file was
 * cut short (its header declares more than was decoded, its Ogg stream lacks its closing page, or
 * its WebM stream ends partway through a block), else null. Decoding detaches an ArrayBuffer (a
 * Uint8Array is copied first).
 */
export function browserDecode(bytes: ArrayBuffer | Uint8Array, rate?: number): Promise<{ buffer: AudioBuffer; earlyEnd: string | null }>;

/** A tag's score as `topTags` gives it. */
export interface ScoredTag {
  tag: string;
  score: number;
  uncertain: boolean;
}

/**
 * The top `n` rows (default 5; a non-negative integer, else a TypeError is thrown) of a result's `top`, best first,
 * with names and scores; `uncertain` as `result.support` says; a row's spelling variants in `also` (absent when it
 * has none). A result without `top` (made by hand) is ranked by `clip` alone.
 */
export function topTags(
  result: Pick<TagResult, 'tags' | 'clip'> & Partial<Pick<TagResult, 'silent' | 'support' | 'top'>>,
  n?: number,
): (ScoredTag & { also?: ScoredTag[] })[];
