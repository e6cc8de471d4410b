"""The commands the app and the report suggest, where there is nothing to show yet: one home,
so that a renamed option is changed once."""

FIRST_COMMAND = "emnist-bench cv --arch mlp --preset best"
BENCH_COMMAND = "emnist-bench bench --arch all --backend all --precision both --peer"
PROFILE_COMMAND = "emnist-bench profile --arch cnn --precision mixed_bfloat16"
