// What many integrators would pick: Node's http module, routing hard-coded.
// Usage: node server.js PORT (loadbench picks a free port).
const http = require('http');
const port = Number(process.argv[2] || 9104);
http.createServer((req, res) => {
  let b = '';
  req.on('data', c => b += c);
  req.on('end', () => {
    let m;
    try { m = JSON.parse(b); } catch (e) { res.statusCode = 400; return res.end(); }
    if (!m || m.METHOD !== 'IVR_LAYER_INPUT') { res.statusCode = 400; return res.end(); }
    const d = m.DATA || {};
    const layer = (d.LAYER_ID === '5' && (d.DTMF || '').length === 8) ? 12 : 13;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({STATUS: 0, ACTION: 'GO_TO_LAYER', LAYER: layer}));
  });
}).listen(port, '127.0.0.1');
