import sys, time, json, numpy as np, pandas as pd, torch, warnings
warnings.simplefilter("ignore")
torch.set_num_threads(1)
from threadpoolctl import threadpool_limits; threadpool_limits(1)
from sklearn.model_selection import train_test_split
from sklearn.metrics import roc_auc_score
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
sys.path.insert(0, "/work/wt-semisup")
from benchmarks.configs.tables import onehot
from benchmarks.configs.semisupervised import load_task, partly_labelled
from skvae import VAEClassifier
exec(open("/tmp/ss/patch.py").read())
tables = sys.argv[1].split(","); frac = float(sys.argv[2]); kw = json.loads(sys.argv[3]); patch(kw.pop("_head", None))
res = {}
def auc(y, p): return roc_auc_score(y, p[:, 1]) if p.shape[1] == 2 else roc_auc_score(y, p, multi_class="ovr")
for name in tables:
    X, y = load_task(name)
    classes, yi = np.unique(y, return_inverse=True)
    for seed in [1, 2, 3]:
        Xtr, Xte, ytr, yte = train_test_split(X, yi, test_size=0.3, stratify=yi, random_state=seed)
        yp = partly_labelled(ytr, frac, seed); lab = yp >= 0
        t = time.time(); clf = VAEClassifier(random_state=seed, **kw).fit(Xtr, yp); ft = time.time() - t
        pm = clf.predict_proba(Xte)
        lr = make_pipeline(onehot(Xtr), StandardScaler(), LogisticRegression(max_iter=1000)).fit(Xtr[lab], yp[lab])
        pl = lr.predict_proba(Xte)
        Ztr, Zte = clf.transform(Xtr), clf.transform(Xte)
        ohe = make_pipeline(onehot(Xtr), StandardScaler()).fit(Xtr)
        Ftr = np.hstack([ohe.transform(Xtr), StandardScaler().fit(Ztr).transform(Ztr)])
        sc = StandardScaler().fit(Ztr)
        Fte = np.hstack([ohe.transform(Xte), sc.transform(Zte)])
        lrz = LogisticRegression(max_iter=1000).fit(Ftr[lab], yp[lab]); pz = lrz.predict_proba(Fte)
        zonly = LogisticRegression(max_iter=1000).fit(sc.transform(Ztr)[lab], yp[lab]).predict_proba(sc.transform(Zte))
        out = {"m2": auc(yte, pm), "lr": auc(yte, pl), "avg": auc(yte, (pm + pl) / 2),
               "lr+z": auc(yte, pz), "z": auc(yte, zonly), "avg3": auc(yte, (pm + pl + pz) / 3)}
        for k, v in out.items(): res.setdefault((name, k), []).append(v)
        print(name, seed, {k: round(v, 4) for k, v in out.items()}, round(ft), clf.n_iter_, flush=True)
print("SUMMARY", kw)
for k, v in res.items(): print(k, round(np.mean(v), 4))
