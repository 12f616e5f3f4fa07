"""The demo's one page: HTML, CSS and JavaScript inline, nothing fetched from the internet."""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>relnet demo</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; max-width: 980px; color: #222; }
nav button { font-size: 1em; padding: .4em .9em; margin-right: .3em; }
nav button.on { background: #333; color: white; }
section { display: none; margin-top: 1em; } section.on { display: block; }
.error { color: #b00020; font-weight: bold; min-height: 1.2em; }
table.grid { border-collapse: collapse; margin: .5em 0; }
table.grid td { width: 2em; height: 2em; text-align: center; border: 1px solid #bbb; font-size: 1.1em; }
table.grid td.given { font-weight: bold; background: #eee; }
table.grid td.wrong { color: #b00020; }
table.grid tr:nth-child(3n) td { border-bottom: 2px solid #333; }
table.grid td:nth-child(3n) { border-right: 2px solid #333; }
textarea { width: 100%; font-family: monospace; }
.models { display: flex; gap: 1.5em; flex-wrap: wrap; }
.models > div { max-width: 460px; }
.muted { color: #666; font-size: .9em; }
#clevr3d-examples li { cursor: pointer; }
</style>
</head>
<body>
<h1>relnet demo</h1>
<nav>
  <button id="tab-sudoku" class="on" onclick="show('sudoku')">Sudoku (RRN)</button>
  <button id="tab-clevr" onclick="show('clevr')">Sort-of-CLEVR (RN)</button>
  <button id="tab-babi" onclick="show('babi')">bAbI (RN)</button>
  <button id="tab-clevr3d" onclick="show('clevr3d')">CLEVR (RN)</button>
</nav>

<section id="sudoku" class="on">
  <p>Type or paste a puzzle: 81 characters, row by row, <code>0</code> or <code>.</code> for blanks.</p>
  <textarea id="puzzle" rows="3">
000000907000420180000705026100904000050000040000507009920108000034059000507000000</textarea>
  <p>Steps <input id="steps" type="number" min="1" max="64" value="32">
     <button id="solve" onclick="solveSudoku()">Solve</button></p>
  <div id="sudoku-error" class="error" role="alert"></div>
  <div id="sudoku-result" hidden>
    <p id="sudoku-verdict"></p>
    <p>Step <input id="step" type="range" min="1" value="1" oninput="drawStep()"> <span id="step-label"></span></p>
    <table class="grid" id="sudoku-grid"></table>
    <p class="muted">Each cell shows the RRN's most probable digit after that step; darker is more confident;
       bold cells are givens, red digits disagree with the exact solution.</p>
  </div>
</section>

<section id="clevr">
  <p>Seed <input id="seed" type="number" min="0" value="0">
     <select id="color"></select> <select id="subtype"></select>
     <button id="ask" onclick="askClevr()">Ask</button></p>
  <div id="clevr-error" class="error" role="alert"></div>
  <div id="clevr-result" hidden>
    <p><b id="clevr-question"></b> True answer: <b id="clevr-truth"></b></p>
    <div class="models" id="clevr-models"></div>
    <p class="muted">Lines join the pairs of objects whose removal changes the answer's margin most
       (exact effects, numbered by rank). The pixel RN's objects are feature-map cells.</p>
  </div>
</section>

<section id="babi">
  <p>A story, one sentence per line (the RN reads the last 20), in the words of the bAbI tasks:</p>
  <textarea id="story" rows="6">Mary went to the kitchen.
John picked up the football.
John went to the garden.
Mary travelled to the office.
Daniel moved to the hallway.</textarea>
  <p>Question <input id="question" size="40" value="Where is the football?">
     <button id="answer" onclick="askBabi()">Answer</button></p>
  <div id="babi-error" class="error" role="alert"></div>
  <div id="babi-result" hidden>
    <p>RN's answer: <b id="babi-answer"></b></p>
    <p>The sentence pairs whose removal lowers the answer's margin most (exact effects):</p>
    <ol id="babi-pairs"></ol>
  </div>
</section>

<section id="clevr3d">
  <p id="clevr3d-folders">Folder <select id="clevr3d-data" onchange="clevrRange()"></select>
     scene <input id="clevr3d-scene" type="number" min="0" value="0"> <span id="clevr3d-range" class="muted"></span></p>
  <p>Question <input id="clevr3d-question" size="70" value="How many cubes are there?">
     <button id="clevr3d-ask" onclick="askClevr3d()">Ask</button></p>
  <div id="clevr3d-error" class="error" role="alert"></div>
  <div id="clevr3d-result" hidden>
    <p><b id="clevr3d-asked"></b> True answer: <b id="clevr3d-truth"></b></p>
    <p id="clevr3d-unknown" class="error"></p>
    <img id="clevr3d-image" alt="the scene">
    <div class="models" id="clevr3d-models"></div>
    <p class="muted">For the RNs, lines join the pairs whose removal changes the answer's margin most (exact
       effects, numbered by rank; green supports the answer, red opposes it). The pixel RN's objects are
       feature-map cells, the state RN's the scene's objects. The truth is known only for the folder's own
       questions about the scene (click one below).</p>
    <p>The folder's questions about this scene:</p>
    <ul id="clevr3d-examples"></ul>
  </div>
</section>

<script>
function show(name) {
  for (const id of ['sudoku', 'clevr', 'babi', 'clevr3d']) {
    document.getElementById(id).classList.toggle('on', id === name);
    document.getElementById('tab-' + id).classList.toggle('on', id === name);
  }
}
async function post(path, body) {
  let response;
  try {
    response = await fetch(path, {method: 'POST', headers: {'Content-Type': 'application/json'},
                                  body: JSON.stringify(body)});
  } catch (error) { throw new Error('the demo server does not answer: ' + error.message); }
  let data;
  try { data = await response.json(); } catch (error) { throw new Error('bad reply (' + response.status + ')'); }
  if (!response.ok) throw new Error(data.error || ('error ' + response.status));
  return data;
}
async function ask(section, path, body) {  // the reply, or null with the error shown and the old result hidden
  const error = document.getElementById(section + '-error');
  error.textContent = '';
  try { return await post(path, body); } catch (e) {
    error.textContent = e.message;
    document.getElementById(section + '-result').hidden = true;
    return null;
  }
}
function pairList(pairs, describe, list = document.createElement('ol')) {  // an <ol>, or LIST refilled
  list.innerHTML = '';
  for (const pair of pairs) {
    const item = document.createElement('li');
    item.textContent = describe(pair) + ': margin drops by ' + pair.effect;
    list.append(item);
  }
  return list;
}
let solved = null;
async function solveSudoku() {
  const steps = Number(document.getElementById('steps').value);
  const data = await ask('sudoku', '/api/sudoku', {puzzle: document.getElementById('puzzle').value, steps: steps});
  if (data === null) return;
  solved = data;
  const verdict = solved.exact === null ? 'the puzzle has several solutions'
    : (solved.solved ? 'solved: the answer matches the exact solution'
                     : 'not solved: some cells differ from the exact solution');
  document.getElementById('sudoku-verdict').textContent = 'RRN after ' + solved.steps + ' steps: ' + verdict + '.';
  const slider = document.getElementById('step');
  slider.max = solved.steps; slider.value = solved.steps;
  document.getElementById('sudoku-result').hidden = false;
  drawStep();
  remember('sudoku');
}
function drawStep() {
  const t = Number(document.getElementById('step').value) - 1;
  const grid = solved.grids[t], sure = solved.confidence[t];
  const right = solved.right_cells ? ', ' + solved.right_cells[t] + '/81 cells right' : '';
  document.getElementById('step-label').textContent = (t + 1) + ' of ' + solved.steps + right;
  const table = document.getElementById('sudoku-grid');
  table.innerHTML = '';
  for (let r = 0; r < 9; r++) {
    const row = table.insertRow();
    for (let c = 0; c < 9; c++) {
      const k = 9 * r + c, cell = row.insertCell(), given = solved.quiz[k] !== '0';
      cell.textContent = given ? solved.quiz[k] : grid[k];
      if (given) { cell.className = 'given'; continue; }
      cell.style.opacity = (0.25 + 0.75 * sure[k]).toFixed(2);
      cell.title = 'p = ' + sure[k] + ', settles at step ' + solved.settled[k];
      if (solved.exact && grid[k] !== solved.exact[k]) cell.className = 'wrong';
    }
  }
}
async function askClevr() {
  const data = await ask('clevr', '/api/sort-of-clevr', {seed: Number(document.getElementById('seed').value),
    color: document.getElementById('color').value, subtype: document.getElementById('subtype').value});
  if (data === null) return;
  document.getElementById('clevr-question').textContent = data.question;
  document.getElementById('clevr-truth').textContent = data.truth;
  const box = document.getElementById('clevr-models');
  box.innerHTML = '';
  for (const model of Object.values(data.models)) {
    const div = document.createElement('div'), title = document.createElement('p'), img = document.createElement('img');
    title.textContent = model.label + ': ' + model.answer + (model.right ? ' (right)' : ' (wrong)');
    img.src = model.image; img.alt = model.label + ' pairs';
    div.append(title, img, pairList(model.pairs, pair => pair.objects.join(' + ')));
    box.append(div);
  }
  document.getElementById('clevr-result').hidden = false;
  remember('sort-of-clevr');
}
async function askBabi() {
  const data = await ask('babi', '/api/babi', {story: document.getElementById('story').value,
                                               question: document.getElementById('question').value});
  if (data === null) return;
  document.getElementById('babi-answer').textContent = data.answer;
  pairList(data.pairs, pair => {
    const [a, b] = pair.sentences.map(s => s === null ? '(empty slot)' : '"' + s + '"');
    return a === b ? a + ' with itself' : a + ' + ' + b;
  }, document.getElementById('babi-pairs'));
  document.getElementById('babi-result').hidden = false;
  remember('babi');
}
let clevrFolders = [];
function clevrRange() {
  const chosen = clevrFolders.find(f => f.name === document.getElementById('clevr3d-data').value);
  document.getElementById('clevr3d-range').textContent = chosen
    ? '(0 to ' + (chosen.scenes - 1) + ', ' + chosen.split + ' split' + (chosen.images ? '' : ', no images') + ')' : '';
}
async function askClevr3d() {
  const data = await ask('clevr3d', '/api/clevr', {data: document.getElementById('clevr3d-data').value,
    scene: Number(document.getElementById('clevr3d-scene').value),
    question: document.getElementById('clevr3d-question').value});
  if (data === null) return;
  document.getElementById('clevr3d-asked').textContent = data.question;
  document.getElementById('clevr3d-truth').textContent = data.truth === null ? 'unknown' : data.truth;
  document.getElementById('clevr3d-unknown').textContent = data.unknown_words.length
    ? 'Words outside the CLEVR vocabulary, read as unknown: ' + data.unknown_words.join(', ') : '';
  document.getElementById('clevr3d-image').src = data.image;
  const box = document.getElementById('clevr3d-models');
  box.innerHTML = '';
  for (const model of Object.values(data.models)) {
    const div = document.createElement('div'), title = document.createElement('p');
    title.textContent = model.label + ': ' + (model.answer === null ? '–' : model.answer)
      + (model.right === null ? '' : (model.right ? ' (right)' : ' (wrong)'))
      + (model.note ? ' (' + model.note + ')' : '');
    div.append(title);
    if (model.image) {
      const img = document.createElement('img');
      img.src = model.image; img.alt = model.label + ' pairs';
      div.append(img);
    }
    if (model.pairs) div.append(pairList(model.pairs, pair => pair.objects.join(' + ')));
    box.append(div);
  }
  const examples = document.getElementById('clevr3d-examples');
  examples.innerHTML = '';
  for (const text of data.examples) {
    const item = document.createElement('li');
    item.textContent = text;
    item.onclick = () => { document.getElementById('clevr3d-question').value = text; askClevr3d(); };
    examples.append(item);
  }
  document.getElementById('clevr3d-result').hidden = false;
  remember('clevr');
}
async function init() {
  try {
    const response = await fetch('/api/info'), info = await response.json(), clevr = info['sort-of-clevr'];
    for (const color of clevr.colors) document.getElementById('color').add(new Option(color, color));
    for (const [kind, names] of Object.entries(clevr.subtypes))
      for (const name of names)
        document.getElementById('subtype').add(new Option(name + ' (' + kind.replace('_', '-') + ')', name));
    const clevr3d = info['clevr'];
    clevrFolders = clevr3d.folders;
    for (const folder of clevrFolders)
      document.getElementById('clevr3d-data').add(new Option(folder.name, folder.name));
    if (clevr3d.missing) document.getElementById('clevr3d-error').textContent = clevr3d.missing;
    clevrRange();
  } catch (e) {
    document.getElementById('clevr-error').textContent = 'cannot reach the demo server';
    return;
  }
  await openLink();
}
// A link presets a page's fields and, with ask=1, asks at once (each page puts its own in the address bar):
// ?page=sudoku&puzzle=...&steps=32, ?page=sort-of-clevr&seed=3&color=red&subtype=closest_to,
// ?page=babi&story=...&question=..., ?page=clevr&data=clevr-quick&scene=0&question=...
const LINKS = {
  'sudoku': ['sudoku', {puzzle: 'puzzle', steps: 'steps'}, () => solveSudoku()],
  'sort-of-clevr': ['clevr', {seed: 'seed', color: 'color', subtype: 'subtype'}, () => askClevr()],
  'babi': ['babi', {story: 'story', question: 'question'}, () => askBabi()],
  'clevr': ['clevr3d', {data: 'clevr3d-data', scene: 'clevr3d-scene', question: 'clevr3d-question'},
            () => askClevr3d()],
};
async function openLink() {
  if (!globalThis.location) return;
  const params = new URLSearchParams(location.search), page = params.get('page');
  if (page === null) return;
  if (!Object.hasOwn(LINKS, page)) {
    document.getElementById('sudoku-error').textContent =
      'the link names no page ' + JSON.stringify(page) + ' (one of ' + Object.keys(LINKS).join(', ') + ')';
    return;
  }
  const [section, fields, ask] = LINKS[page];
  show(section);
  for (const [name, id] of Object.entries(fields))
    if (params.has(name)) document.getElementById(id).value = params.get(name);
  if (page === 'clevr') clevrRange();
  if (params.get('ask') === '1') await ask();
}
function remember(page) {  // after an answer: the address bar holds a link that asks the same again
  if (!globalThis.history || !globalThis.location) return;
  const params = new URLSearchParams({page: page});
  for (const [name, id] of Object.entries(LINKS[page][1])) params.set(name, document.getElementById(id).value);
  params.set('ask', '1');
  history.replaceState(null, '', location.pathname + '?' + params);
}
init();
</script>
</body>
</html>
"""
