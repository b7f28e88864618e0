import sys, time, json, numpy as np, pandas as pd, torch, warnings
warnings.simplefilter("ignore")
torch.set_num_threads(1)
from threadpoolctl import threadpool_limits; threadpool_limits(1)
from sklearn.model_selection import train_test_split
from sklearn.metrics import roc_auc_score
from sklearn.linear_model import LogisticRegression
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.semi_supervised import SelfTrainingClassifier, LabelSpreading
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
sys.path.insert(0, "/work/wt-semisup")
from benchmarks.configs.tables import onehot
from skvae import VAEClassifier
TASKS = {"credit_data": "Status", "wage": "health_ins", "cps1985": "union", "default": "default",
         "penguins": "species", "hitters": "Division"}
tables = sys.argv[1].split(","); frac = float(sys.argv[2]); configs = json.loads(sys.argv[3])
peers = len(sys.argv) > 4
def auc(yte, p):
    p = np.where(np.isfinite(p), p, 1.0 / p.shape[1])
    return roc_auc_score(yte, p[:,1]) if p.shape[1]==2 else roc_auc_score(yte, p, multi_class="ovr")
res = {}
import skvae._torch.semisupervised as S
from torch import nn
ORIG = S.ClassifierHead.__init__
def patch(head):
    def init(self, n_inputs, hidden, n_classes, dropout=0.0, generator=None):
        nn.Module.__init__(self)
        if head == "linear":
            self.body = nn.Identity(); self.out = S.linear(n_inputs, n_classes, generator)
        elif head == "narrow":
            h = (16,); self.body = S.make_mlp(n_inputs, h, dropout, generator); self.out = S.linear(16, n_classes, generator)
        else:
            ORIG(self, n_inputs, hidden, n_classes, dropout, generator)
    S.ClassifierHead.__init__ = init
for name in tables:
    target = TASKS[name]
    df = pd.read_parquet(f"/work/shared/data/tables/{name}.parquet")
    df = df[df[target].notna()].reset_index(drop=True)
    X = df.drop(columns=[target] + (["NewLeague", "League"] if name == "hitters" else []))
    y = df[target].astype(str).to_numpy()
    classes = np.unique(y); yi = np.searchsorted(classes, y)
    for seed in [1,2,3]:
        Xtr, Xte, ytr, yte = train_test_split(X, yi, test_size=0.3, stratify=yi, random_state=seed)
        n_lab = max(int(round(frac*len(ytr))), 2*len(classes))
        lab = train_test_split(np.arange(len(ytr)), train_size=n_lab, stratify=ytr, random_state=seed)[0]
        yp = np.full(len(ytr), -1); yp[lab] = ytr[lab]
        for i, kw in enumerate(configs):
            kw = dict(kw); patch(kw.pop("_head", None))
            t=time.time(); clf = VAEClassifier(random_state=seed, **kw).fit(Xtr, yp); ft=time.time()-t
            a = auc(yte, clf.predict_proba(Xte)); res.setdefault((name, f"c{i}"), []).append(a)
            print(name, seed, kw, round(a,4), round(ft,1), clf.n_iter_, flush=True)
        if peers:
            def pipe(m): return make_pipeline(onehot(Xtr), StandardScaler(), m)
            for nm, m, Xf, yf in [("LR", pipe(LogisticRegression(max_iter=1000)), Xtr.iloc[lab], ytr[lab]),
                       ("HGB", HistGradientBoostingClassifier(categorical_features="from_dtype"), Xtr.iloc[lab], ytr[lab]),
                       ("ST", pipe(SelfTrainingClassifier(LogisticRegression(max_iter=1000))), Xtr, yp),
                       ("LS", pipe(LabelSpreading(kernel="knn")), Xtr, yp)]:
                m.fit(Xf, yf); a = auc(yte, m.predict_proba(Xte)); res.setdefault((name, nm), []).append(a)
print("SUMMARY")
for k, v in res.items(): print(k, round(np.mean(v),4))
