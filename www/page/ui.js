// The page's elements (index.html), looked up once.
const $ = (id) => document.getElementById(id);

export const ui = {
  drop: $('drop'), file: $('file'), record: $('record'), cancel: $('cancel'), env: $('env'),
  status: $('status'), stages: $('stages'), progress: $('progress'), statusText: $('status-text'),
  error: $('error'), results: $('results'), resultName: $('result-name'), resultMeta: $('result-meta'), inputNote: $('input-note'),
  player: $('player'), s1: $('s1'), s2: $('s2'), band: $('band'), timings: $('timings'),
  download: $('download'), live: $('live'), liveCanvas: $('live-canvas'),
  offline: $('offline'),
  modelStatus: $('model-status'), backendSet: $('backend'), backendWebgpu: $('backend-webgpu'),
  backendCpu: $('backend-cpu'), webgpuNote: $('webgpu-note'), tags: $('tags'), tagsNote: $('tags-note'),
  backendWhy: $('backend-why'), tagsLegend: $('tags-legend'), modelAbout: $('model-about'),
  backendUsed: $('backend-used'), taggram: $('taggram'), taggramPlot: $('taggram-plot'), taggramEmpty: $('taggram-empty'),
};
