"""The study's published numbers and claims, in one place (benchmark/STUDY.md tells them in
words, and tests/test_study_doc.py keeps the two equal).

Every number here is the study's own, on the official EMNIST Balanced test split; the suite's
own results never come from this module. The report's claims table, the app's ablation page
and the report's study columns all read it.
"""

from __future__ import annotations

# Test accuracy the study reports on the official EMNIST Balanced test split, per architecture,
# ablation factor and value (benchmark/STUDY.md, "Ablations (CNN and ResNet)"; values as
# tuners/spaces.py names them). Only the values the report gives a number for; its MLP ablations are qualitative.
STUDY_TEST_ACCURACY: dict[tuple[str, str, str], float] = {
    ("cnn", "channels", "32,64"): 0.8699, ("cnn", "channels", "32,64,128"): 0.8877,
    ("cnn", "kernels_3_layers", "5,5,3"): 0.8922,
    ("cnn", "activation", "leaky_relu"): 0.8963,
    ("cnn", "optimizer", "adam"): 0.8963, ("cnn", "optimizer", "rmsprop"): 0.8952,
    ("cnn", "optimizer", "sgd"): 0.7750,
    ("cnn", "schedule", "cosine"): 0.8963, ("cnn", "schedule", "step"): 0.8941,
    ("cnn", "batch_norm", "true"): 0.8963, ("cnn", "batch_norm", "false"): 0.8956,
    ("cnn", "dropout", "0"): 0.8970, ("cnn", "dropout", "0.5"): 0.8963,
    ("cnn", "regularization", "none"): 0.8970, ("cnn", "regularization", "l1"): 0.8945,
    ("cnn", "regularization", "l2"): 0.8940,
    ("resnet", "blocks", "2,2,2"): 0.9084, ("resnet", "blocks", "1,2,3"): 0.9065,
    ("resnet", "activation", "leaky_relu"): 0.9084, ("resnet", "activation", "relu"): 0.9060,
    ("resnet", "activation", "elu"): 0.9044,
    ("resnet", "optimizer", "adam"): 0.9084, ("resnet", "optimizer", "rmsprop"): 0.9069,
    ("resnet", "optimizer", "sgd"): 0.3147,
    ("resnet", "schedule", "cosine"): 0.9084, ("resnet", "schedule", "step"): 0.9078,
    ("resnet", "batch_norm", "true"): 0.9084, ("resnet", "batch_norm", "false"): 0.1315,
    ("resnet", "regularization", "none"): 0.9084, ("resnet", "regularization", "l2"): 0.9078,
    ("resnet", "regularization", "l1"): 0.8913,
    ("resnet", "dropout", "false"): 0.9084, ("resnet", "dropout", "true"): 0.9072,
}
STUDY_LABEL = "study (official Balanced test)"
# The report's own words per factor (benchmark/STUDY.md, "Published numbers"), numbers or not.
STUDY_NOTES: dict[tuple[str, str], str] = {
    ("cnn", "channels"): "[32,64] 0.8699 vs [32,64,128] 0.8877",
    ("cnn", "kernels_3_layers"): "[5,5,3] 0.8922, the best kernels",
    ("cnn", "activation"): "LeakyReLU 0.8963, above ReLU and ELU",
    ("cnn", "optimizer"): "Adam 0.8963, RMSprop 0.8952, SGD 0.7750",
    ("cnn", "schedule"): "cosine 0.8963 vs StepLR 0.8941",
    ("cnn", "batch_norm"): "BN 0.8963 vs 0.8956 without",
    ("cnn", "dropout"): "no dropout 0.8970 vs 0.8963 with 0.5",
    ("cnn", "regularization"): "none 0.8970, L1 0.8945, L2 0.8940",
    ("resnet", "blocks"): "[2,2,2] 0.9084, [1,2,3] 0.9065, [3,3,3] no better",
    ("resnet", "activation"): "LeakyReLU 0.9084, ReLU 0.9060, ELU 0.9044",
    ("resnet", "optimizer"): "Adam 0.9084, RMSprop 0.9069, SGD 0.3147",
    ("resnet", "schedule"): "cosine 0.9084 vs StepLR 0.9078",
    ("resnet", "batch_norm"): "BN 0.9084 vs 0.1315 without",
    ("resnet", "regularization"): "none 0.9084, L2 0.9078, L1 0.8913",
    ("resnet", "dropout"): "no dropout 0.9084 vs 0.9072",
    ("mlp", "units"): "more neurons better", ("mlp", "hidden_layers"): "more layers worse",
    ("mlp", "schedule"): "a scheduler helps, StepLR most",
    ("mlp", "activation"): "ELU slightly best",
    ("mlp", "optimizer"): "SGD with StepLR generalises better than Adam or RMSprop",
    ("mlp", "batch_norm"): "BN helps", ("mlp", "regularization"): "L1 slightly best",
    ("mlp", "dropout"): "dropout helps", ("mlp", "augment"): "augmentation slightly hurts",
}

# Pairs of characters the study names as hard to tell apart (benchmark/STUDY.md, "MLP findings");
# O/0 is the other classic.
KNOWN_CONFUSIONS = [("9", "q"), ("O", "0")]

# The study's claims (benchmark/STUDY.md, "Published numbers"). A comparison claim says arm `a`
# scores above arm `b` of the architecture's ablation ("baseline" is the baseline arm; the others
# are benchmark.ablation.arm_id names). `sign` -1 claims a is below b.
COMPARISONS = [
    ("cnn", "Three conv layers [32,64,128] beat two [32,64]", "channels-32.64.128", "baseline", 1,
     "0.8877 vs 0.8699"),
    ("cnn", "Kernels [5,5,3] beat [3,3,3] (three layers)", "kernels_3_layers-5.5.3",
     "channels-32.64.128", 1, "0.8922, the best kernels"),
    ("cnn", "LeakyReLU beats ReLU", "activation-leaky_relu", "baseline", 1, "0.8963 > ReLU"),
    ("cnn", "LeakyReLU beats ELU", "activation-leaky_relu", "activation-elu", 1, "0.8963 > ELU"),
    ("cnn", "Adam beats RMSprop", "baseline", "optimizer-rmsprop", 1, "0.8963 vs 0.8952"),
    ("cnn", "Adam beats SGD by far", "baseline", "optimizer-sgd", 1, "0.8963 vs 0.7750"),
    ("cnn", "Cosine annealing beats StepLR", "baseline", "schedule-step", 1, "0.8963 vs 0.8941"),
    ("cnn", "Batch norm helps", "baseline", "batch_norm-False", 1, "0.8963 vs 0.8956"),
    ("cnn", "No dropout beats dropout 0.5", "dropout-0.0", "baseline", 1, "0.8970 vs 0.8963"),
    ("cnn", "No regularization beats L1", "baseline", "regularization-l1", 1, "0.8970 vs 0.8945"),
    ("cnn", "No regularization beats L2", "baseline", "regularization-l2", 1, "0.8970 vs 0.8940"),
    ("resnet", "Blocks [2,2,2] beat [1,2,3]", "baseline", "blocks-1.2.3", 1, "0.9084 vs 0.9065"),
    ("resnet", "Blocks [3,3,3] are no better than [2,2,2]", "blocks-3.3.3", "baseline", -1,
     "no better"),
    ("resnet", "LeakyReLU beats ReLU", "baseline", "activation-relu", 1, "0.9084 vs 0.9060"),
    ("resnet", "ReLU beats ELU", "activation-relu", "activation-elu", 1, "0.9060 vs 0.9044"),
    ("resnet", "Adam beats RMSprop", "baseline", "optimizer-rmsprop", 1, "0.9084 vs 0.9069"),
    ("resnet", "Adam beats SGD by far", "baseline", "optimizer-sgd", 1, "0.9084 vs 0.3147"),
    ("resnet", "Cosine annealing beats StepLR", "baseline", "schedule-step", 1, "0.9084 vs 0.9078"),
    ("resnet", "Batch norm is essential", "baseline", "batch_norm-False", 1, "0.9084 vs 0.1315"),
    ("resnet", "No regularization beats L2", "baseline", "regularization-l2", 1, "0.9084 vs 0.9078"),
    ("resnet", "L2 beats L1", "regularization-l2", "regularization-l1", 1, "0.9078 vs 0.8913"),
    ("resnet", "No dropout beats dropout", "baseline", "dropout-True", 1, "0.9084 vs 0.9072"),
    ("mlp", "More neurons: 128 beat 64", "baseline", "units-64", 1, "qualitative"),
    ("mlp", "More neurons: 64 beat 32", "units-64", "units-32", 1, "qualitative"),
    ("mlp", "More layers are worse: 3 beat 4", "baseline", "hidden_layers-4", 1, "qualitative"),
    ("mlp", "More layers are worse: 4 beat 5", "hidden_layers-4", "hidden_layers-5", 1,
     "qualitative"),
    ("mlp", "A scheduler helps: StepLR beats none", "schedule-step", "baseline", 1, "qualitative"),
    ("mlp", "StepLR beats ReduceLROnPlateau", "schedule-step", "schedule-plateau", 1,
     "qualitative"),
    ("mlp", "ELU beats ReLU", "activation-elu", "baseline", 1, "qualitative"),
    ("mlp", "ELU beats LeakyReLU", "activation-elu", "activation-leaky_relu", 1, "qualitative"),
    ("mlp", "SGD beats Adam", "optimizer-sgd", "baseline", 1, "qualitative"),
    ("mlp", "SGD beats RMSprop", "optimizer-sgd", "optimizer-rmsprop", 1, "qualitative"),
    ("mlp", "Batch norm helps", "baseline", "batch_norm-False", 1, "qualitative"),
    ("mlp", "L1 beats L2", "baseline", "regularization-l2", 1, "qualitative"),
    ("mlp", "L1 beats no regularization", "baseline", "regularization-none", 1, "qualitative"),
    ("mlp", "Dropout helps", "baseline", "dropout-False", 1, "qualitative"),
    ("mlp", "Augmentation slightly hurts", "baseline", "augment-True", 1, "qualitative"),
]
# The study's ranking of the architectures, best presets, weakest first: "MLP < CNN < ResNet".
RANKING = ["mlp", "cnn", "resnet"]
# The study's final test accuracies (official Balanced test split).
FINAL = {"mlp": 0.8614, "cnn": 0.8970, "resnet": 0.9084}


def study_difference(study_text: str) -> float | None:
    """The accuracy difference a comparison claim's study text states ("0.8963 vs 0.8952" ->
    0.0011); None where the study gives no pair of numbers (qualitative, "no better")."""
    import re

    numbers = re.fullmatch(r"\s*(0\.\d+) vs (0\.\d+)\s*", study_text)
    return round(abs(float(numbers[1]) - float(numbers[2])), 6) if numbers else None
