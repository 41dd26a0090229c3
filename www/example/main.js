// The example page: everything it does goes through the package's API.
// `document.body.dataset.state` (loading, ready, busy, done, cancelled,
// error) and `globalThis.example.result` are there for the browser tests.
import { loadTagger, topTags } from '../package/index.js';
import { MODEL_URL as SHIPPED } from '../constants.js';

// www/server.mjs serves the repository's models/ (or --model FILE) here.
const MODEL_URL = `../${SHIPPED}`;
const STAGES = { decode: 'Decoding', analyse: 'Analysing', model: 'Scoring' };

const $ = (id) => document.getElementById(id);
const status = $('status');
let tagger = null;
let job = null; // the AbortController of the file being tagged
globalThis.example = { result: null };

function state(s, text) {
  document.body.dataset.state = s;
  status.textContent = text;
  $('cancel').disabled = s !== 'busy';
}

async function tagFile(file) {
  job?.abort();
  const controller = new AbortController();
  job = controller;
  $('tags').replaceChildren();
  globalThis.example.result = null;
  state('busy', `Reading ${file.name}…`);
  try {
    const result = await tagger.tag(file, {
      signal: controller.signal,
      onProgress: ({ stage, done, total }) => {
        status.textContent = `${STAGES[stage]} ${file.name}: ${Math.round((100 * done) / total)} %`;
      },
    });
    globalThis.example.result = result;
    $('tags').replaceChildren(
      ...topTags(result, 5).map(({ tag, score }) => {
        const li = document.createElement('li');
        const name = Object.assign(document.createElement('span'), { className: 'tag', textContent: tag });
        const value = Object.assign(document.createElement('span'), { className: 'score', textContent: score.toFixed(4) });
        li.append(name, ' ', value);
        return li;
      }),
    );
    state('done', `${file.name}: ${result.duration_s.toFixed(1)} s, ${result.windows.length} window(s).`);
  } catch (e) {
    // A newer file took over: its job reports for itself.
    if (job !== controller) return;
    if (e.name === 'AbortError') state('cancelled', 'Cancelled.');
    else state('error', `Could not tag ${file.name}: ${e.message}`);
  }
}

$('cancel').onclick = () => job?.abort();
$('file').onchange = (ev) => {
  const file = ev.target.files[0];
  if (file) tagFile(file);
};

try {
  tagger = await loadTagger({ model: MODEL_URL });
  $('file').disabled = false;
  state('ready', `Model ${tagger.info.name} loaded (${tagger.tags.length} tags). Pick a file.`);
} catch (e) {
  state('error', `The tagger could not start: ${e.message}`);
}
