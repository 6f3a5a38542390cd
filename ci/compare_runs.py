"""Compare a run's results file with the committed full run: is what this machine printed what the README says?

Usage: python ci/compare_runs.py NEW.json COMMITTED.json. Prints, per variant and seed, test Recall@20 of both and
whether the validation curves are identical; exits 0 either way (a fresh machine of another kind may differ in the
last bits), and says so plainly. Last line: JSON summary.
"""
import json, sys

new, old = (json.load(open(p)) for p in sys.argv[1:3])
key = lambda r: (r['model'], r.get('seed'))
old_rows = {key(r): r for r in old['rows']}
same_curves = sum(new['histories'].get(k) == h for k, h in old['histories'].items())
print(f"{'variant':28s} {'seed':>5s}  {'R@20 now':>9s}  {'committed':>9s}")
exact = 0
for r in new['rows']:
    o = old_rows.get(key(r))
    if o is None: continue
    exact += r['recall@20'] == o['recall@20'] and r['ndcg@20'] == o['ndcg@20']
    print(f"{r['model']:28s} {str(r.get('seed') or ''):>5s}  {r['recall@20']:9.4f}  {o['recall@20']:9.4f}"
          + ('' if r['recall@20'] == o['recall@20'] else '  differs'))
n = len(new['rows'])
verdict = 'identical to the committed run' if exact == n and same_curves == len(old['histories']) else 'differs from the committed run'
print(f"\n{exact}/{n} rows and {same_curves}/{len(old['histories'])} validation curves identical: {verdict}")
print(json.dumps({'rows_identical': exact, 'rows': n, 'curves_identical': same_curves, 'curves': len(old['histories'])}))
