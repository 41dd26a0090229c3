// Results: the tag bars, the pictures (page/pictures.js), the timings
// table. `shown.result` is the result on screen.
import { MODEL_URL } from '../constants.js';
import { ui } from './ui.js';
import { gpu } from './env.js';
import { BACKEND_NAMES } from './backend.js';
import { model, trained } from './model.js';
import { fmtSeconds, plain } from './status.js';
import { drawAll, preparePictures } from './pictures.js';

export { drawAll };

export const shown = { result: null };

const TOP_TAGS = 10;

export function rowsOf(scatter, order) {
  const out = [];
  scatter.paths.forEach((p, i) => {
    if (p.order === order) out.push({ index: i, ...p });
  });
  return out;
}

export function rowView(scatter, index) {
  return scatter.data.subarray(index * scatter.frames, (index + 1) * scatter.frames);
}

/** Tag order by clip score, best first. */
export function ranked(tags) {
  return tags.clip.map((score, i) => i).sort((a, b) => tags.clip[b] - tags.clip[a]);
}

export function showResults(r) {
  ui.results.hidden = false;
  ui.resultName.textContent = r.name;
  ui.resultMeta.textContent =
    `${fmtSeconds(r.duration)} · ${r.channels} channel${r.channels > 1 ? 's' : ''} · decoded at ${r.sampleRate} Hz` +
    (r.long ? ' (long file: decoded and mixed to mono by the browser to save memory)' : '') +
    ' · ' +
    `${r.scatter.rows} scattering coefficients × ${r.scatter.frames} frames`;
  if (ui.player.src) URL.revokeObjectURL(ui.player.src);
  ui.player.src = URL.createObjectURL(r.blob);

  preparePictures(r);
  showTags(r);
  drawAll();
}

export function showTags(r) {
  const tags = r.tags;
  ui.tagsNote.hidden = true;
  if (!tags) {
    const div = document.createElement('div');
    div.className = 'placeholder';
    div.textContent = r.tagError
      ? `The tags could not be computed: ${plain(r.tagError)} The scattering transform below is computed for real.`
      : model.state === 'absent'
        ? `No tagging model is shipped with this build (${MODEL_URL} is missing), so no tags are shown. The scattering transform below is computed for real.`
        : model.state === 'error'
          ? `${model.message} No tags are shown; the scattering transform below is computed for real.`
          : 'No tags: the model was not ready.';
    ui.tags.replaceChildren(div);
    ui.backendUsed.textContent = '';
    ui.taggramEmpty.textContent = 'No model: no taggram.';
    ui.taggramEmpty.hidden = false;
    ui.taggramPlot.hidden = true;
    return;
  }
  if (!trained(model.info)) {
    ui.tagsNote.textContent = `The model ${model.info.name} is untrained (random weights, for testing): these scores mean nothing yet.`;
    ui.tagsNote.hidden = false;
  }
  const list = document.createElement('ol');
  list.className = 'tagbars';
  list.setAttribute('aria-label', `Top ${TOP_TAGS} tags with their scores`);
  for (const i of ranked(tags).slice(0, TOP_TAGS)) {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'tag';
    name.textContent = tags.tags[i];
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.setAttribute('aria-hidden', 'true');
    const fill = document.createElement('span');
    fill.style.width = `${(Math.max(0, Math.min(1, tags.clip[i])) * 100).toFixed(1)}%`;
    bar.append(fill);
    const score = document.createElement('span');
    score.className = 'score';
    score.textContent = tags.clip[i].toFixed(2);
    li.append(name, bar, score);
    list.append(li);
  }
  ui.tags.replaceChildren(list);
  const ms = r.timings.model;
  ui.backendUsed.textContent =
    `The model ran on ${BACKEND_NAMES[tags.backend]}${tags.backend === 'webgpu' && gpu.name ? ` (${gpu.name})` : ''}` +
    (ms != null ? ` in ${ms.toFixed(0)} ms` : '') +
    ` over ${tags.windows.length} window${tags.windows.length > 1 ? 's' : ''} of 29 s.` +
    (tags.fallback ? ` WebGPU could not be used (${plain(tags.fallback)}), so the CPU ran it.` : '') +
    (model.sameFrontEnd ? '' : ' (The model reads its own front end, not the one pictured below.)');
  ui.taggramEmpty.hidden = true;
  ui.taggramPlot.hidden = false;
}

export function renderTimings(tm, tags, workers) {
  const rows = [
    ['Read file', tm.read],
    ['Decode (browser)', tm.decode],
  ];
  if (workers != null) {
    // One scattering per window gives the pictures and the model input.
    rows.push([`Scattering for the pictures and the model (WASM, ${workers} worker${workers > 1 ? 's' : ''})`, tm.transform]);
  } else rows.push(['Scattering for the pictures (WASM, worker)', tm.transform]);
  if (tags) {
    if (workers == null) rows.push(['Model input: scattering + normalisation (WASM)', tm.features]);
    if (tm.webgpuInit != null) rows.push(['Starting WebGPU and loading the weights (first use)', tm.webgpuInit]);
    rows.push([`Tags: the model on ${BACKEND_NAMES[tags.backend]}`, tm.model]);
  } else rows.push(['Tags (model)', null]);
  rows.push(['Draw', tm.draw]);
  ui.timings.replaceChildren(
    ...rows.flatMap(([k, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v == null ? 'no model' : `${v.toFixed(0)} ms`;
      return [dt, dd];
    }),
  );
}
