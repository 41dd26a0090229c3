// The playhead over the pictures, driven by the audio element; clicking a
// picture or using the arrow keys on it moves the audio.
import { ui } from './ui.js';

const CANVASES = [
  ['s1', 's1Layout'],
  ['s2', 's2Layout'],
  ['taggram', 'taggramLayout'],
];

export function updatePlayheads(current) {
  if (!current) return;
  const time = ui.player.currentTime || 0;
  for (const [id, key] of CANVASES) {
    const canvas = ui[id];
    const layout = current[key];
    const head = canvas.parentElement.querySelector('.playhead');
    if (!layout) {
      head.style.display = 'none';
      continue;
    }
    const x = layout.xOf(time) / canvas.width;
    head.style.left = `${(x * 100).toFixed(3)}%`;
    head.style.top = `${((layout.plot.y / canvas.height) * 100).toFixed(3)}%`;
    head.style.bottom = `${(((canvas.height - layout.plot.y - layout.plot.h) / canvas.height) * 100).toFixed(3)}%`;
    head.style.display = time > 0 || !ui.player.paused ? 'block' : 'none';
  }
}

/** Wire the player and the pictures; `getResult()` gives the result shown. */
export function wirePlayheads(getResult) {
  const update = () => updatePlayheads(getResult());
  const animate = () => {
    update();
    if (!ui.player.paused) requestAnimationFrame(animate);
  };
  ui.player.addEventListener('play', () => requestAnimationFrame(animate));
  for (const ev of ['seeked', 'timeupdate', 'pause']) ui.player.addEventListener(ev, update);
  for (const [id, key] of CANVASES) {
    const canvas = ui[id];
    canvas.addEventListener('click', (ev) => {
      const current = getResult();
      const layout = current && current[key];
      // The analysed length: a player may not know its own (Infinity for a
      // recording's WebM, NaN before its metadata).
      if (!layout || !isFinite(current.duration)) return;
      const rect = canvas.getBoundingClientRect();
      const x = ((ev.clientX - rect.left) / rect.width) * canvas.width;
      ui.player.currentTime = Math.max(0, Math.min(current.duration, layout.timeOf(x)));
      update();
    });
    canvas.addEventListener('keydown', (ev) => {
      const current = getResult();
      if (!current) return;
      const step = ev.shiftKey ? 5 : 1;
      const p = ui.player;
      if (ev.key === 'ArrowRight') p.currentTime = Math.min(current.duration, p.currentTime + step);
      else if (ev.key === 'ArrowLeft') p.currentTime = Math.max(0, p.currentTime - step);
      else if (ev.key === 'Home') p.currentTime = 0;
      else if (ev.key === 'End') p.currentTime = current.duration;
      else if (ev.key === ' ' || ev.key === 'Enter') p.paused ? p.play() : p.pause();
      else return;
      ev.preventDefault();
      update();
    });
  }
}
