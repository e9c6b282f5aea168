#include "report/html_page.hpp"

namespace cr3rig::report {

const char* const kReportCss = R"CSS(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#fafbfc}
header{padding:14px 24px;background:#fff;border-bottom:1px solid #d8dee4}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:18px 0 8px}
.meta{color:#57606a}.meta code,td code,li code{font:12px ui-monospace,monospace}
main{padding:4px 24px 24px}
.verdict{display:inline-block;padding:1px 10px;border-radius:10px;color:#fff;font-weight:700;margin-left:8px}
.v-PASS{background:#1a7f37}.v-FAIL{background:#cf222e}.v-none{background:#6e7781}.v-other{background:#bc4c00}
.warnings{background:#fff8c5;border:1px solid #d4a72c;padding:6px 12px;border-radius:6px}
.timeline-box{overflow-x:auto;background:#fff;border:1px solid #d8dee4;border-radius:6px}
#timeline{display:block}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:8px 0;align-items:center}
.legend span{display:inline-flex;align-items:center;gap:5px}
.swatch{width:22px;height:12px;border-radius:2px;display:inline-block;border:1px solid #0002}
.swatch.hatched{background:repeating-linear-gradient(45deg,#0007 0 2px,#fff0 2px 5px),#bbb}
.columns{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:24px}
@media (max-width:1100px){.columns{grid-template-columns:1fr}}
ol.findings{padding-left:22px}li.finding{margin:0 0 10px;padding:6px 8px;border-radius:6px;border:1px solid transparent}
li.finding.selected{border-color:#d62728;background:#fff0f0}
a.finding-link{font-weight:700;color:#b91c1c}
.flash{animation:flash 1.2s ease-out 2}
@keyframes flash{0%{opacity:.25}100%{opacity:1}}
table.context{border-collapse:collapse;font:12px ui-monospace,monospace;margin-top:4px}
table.context td,table.context th{padding:1px 8px;text-align:left;border-bottom:1px solid #eaeef2}
table.context tr.at{background:#ffebe9;font-weight:700}
.none{color:#57606a}
details.selfcheck{margin-top:24px;color:#57606a}
)CSS";

const char* const kErrorCollectorJs =
    "window.reportErrors=[];window.addEventListener('error',function(e){window.reportErrors.push(String(e.message))});";

const char* const kReportJs = R"JS(
(function () {
  'use strict';
  function flash(el) {
    el.classList.remove('flash');
    void el.getBoundingClientRect();  // restarts the animation
    el.classList.add('flash');
  }
  // Shows finding N: selects its mark on the timeline and its entry in the panel; a
  // user's click also scrolls to the mark and makes it blink.
  function showFinding(n, byUser) {
    var mark = document.getElementById('finding-' + n);
    var entry = document.getElementById('finding-entry-' + n);
    if (!mark) return false;
    document.querySelectorAll('.selected').forEach(function (s) { s.classList.remove('selected'); });
    mark.classList.add('selected');
    if (entry) entry.classList.add('selected');
    if (byUser) {
      mark.scrollIntoView({block: 'center', inline: 'center', behavior: 'smooth'});
      flash(mark);
    }
    return mark.classList.contains('selected');
  }
  try {
    document.querySelectorAll('a.finding-link').forEach(function (a) {
      a.addEventListener('click', function (ev) {
        ev.preventDefault();
        showFinding(a.dataset.finding, true);
        history.replaceState(null, '', a.getAttribute('href'));
      });
    });
    document.querySelectorAll('.finding-mark').forEach(function (g) {
      g.addEventListener('click', function () {
        var n = g.id.replace('finding-', '');
        showFinding(n, false);
        var entry = document.getElementById('finding-entry-' + n);
        if (entry) {
          entry.scrollIntoView({block: 'nearest', behavior: 'smooth'});
          flash(entry);
        }
      });
    });
    var hash = /^#finding-(\d+)$/.exec(location.hash);
    if (hash) showFinding(hash[1], true);

    var lines = [];
    var entries = document.querySelectorAll('li.finding');
    lines.push('findings-listed: ' + entries.length);
    entries.forEach(function (li) {
      var a = li.querySelector('a.finding-link');
      var target = a && document.getElementById(a.getAttribute('href').slice(1));
      lines.push('finding ' + li.dataset.kind + ' seq ' + li.dataset.seq + ': ' +
                 (target ? 'target #' + target.id + ' ok' : 'no target on the timeline'));
    });
    var first = document.querySelector('a.finding-link');
    if (first && !hash) lines.push('highlight: ' + (showFinding(first.dataset.finding, false) ? 'ok' : 'failed'));
    lines.push('timeline-elements: ' + document.querySelectorAll('#timeline *').length);
  } catch (e) {
    window.reportErrors.push(String(e && e.message || e));
  }
  lines = lines || [];
  lines.push('errors: ' + (window.reportErrors.length ? window.reportErrors.join(' | ') : 'none'));
  document.getElementById('report-selfcheck').textContent = lines.join('\n');
})();
)JS";

}  // namespace cr3rig::report
