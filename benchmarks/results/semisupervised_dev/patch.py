import skvae._torch.semisupervised as S
from torch import nn
ORIG = S.ClassifierHead.__init__
def patch(head):
    def init(self, n_inputs, hidden, n_classes, dropout=0.0, generator=None):
        nn.Module.__init__(self)
        if head == "linear":
            self.body = nn.Identity(); self.out = S.linear(n_inputs, n_classes, generator)
        else:
            ORIG(self, n_inputs, hidden, n_classes, dropout, generator)
    S.ClassifierHead.__init__ = init
