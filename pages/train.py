"""Train & compare: retrain the baseline and the improved network live, then compare every run."""
import pandas as pd
import streamlit as st

from app import cache, frame, ui
from core import evaluate, figures, inside, jobs, models, runner, runs, train

frame.page_setup()
st.title("Train & compare")
st.caption("Train the original recipe's two networks (or a small CNN) on MNIST, watch them learn, "
           "and compare every run. Training runs in a process of its own: it goes on while you "
           "switch pages, reload or close the tab, and every finished run joins the model picker.")

KINDS = {"baseline: 784 → 10, sigmoid": "linear",
         "improved: one hidden ReLU layer → 10, sigmoid": "mlp",
         "cnn_fast: a small convolutional network": "cnn_fast"}
LABEL = {name: label for label, name in KINDS.items()}
RECIPE = {name: models.spec(name).defaults for name in KINDS.values()}  # the one source of the numbers
PRESETS = {  # the recipe's own settings
    "baseline": dict(kind=LABEL["linear"], epochs=RECIPE["linear"].epochs, hidden=RECIPE["mlp"].hidden),
    "improved": dict(kind=LABEL["mlp"], epochs=RECIPE["mlp"].epochs, hidden=RECIPE["mlp"].hidden),
}
ALL = train.split_sizes(RECIPE["linear"], 60000)[0]  # every training image but the validation split
IMAGES = [500, 1000, 2000, 5000, 10000, 20000, ALL]
DEFAULTS = dict(kind=LABEL["linear"], epochs=RECIPE["linear"].epochs, hidden=RECIPE["mlp"].hidden,
                lr=RECIPE["linear"].learning_rate, batch=RECIPE["linear"].batch_size, images=ALL, seed=0)
# Streamlit drops a widget's value after a run that does not draw it (another page): keep a copy
# of the settings under a key of our own, and bring them back when the page is shown again.
saved = st.session_state.setdefault("train_saved", {})
for k, v in DEFAULTS.items():
    if f"train_{k}" not in st.session_state:
        st.session_state[f"train_{k}"] = saved.get(k, v)


def preset(name: str) -> None:
    for k, v in {**DEFAULTS, **PRESETS[name]}.items():
        st.session_state[f"train_{k}"] = v


def config(kind: str) -> models.TrainConfig:
    """What the controls say, on top of the model's own defaults: the CLI builds it the same way."""
    s = st.session_state
    return models.spec(kind).defaults.with_(
        epochs=s.train_epochs, hidden=s.train_hidden, learning_rate=s.train_lr, batch_size=s.train_batch,
        limit=train.limit_for(s.train_images, models.spec(kind).defaults), seed=int(s.train_seed))


def launch(kinds: list) -> None:
    """Train button callback: runs before the page, so the page already shows the run."""
    try:
        runner.start([config(k).with_(**over) for k, over in kinds])
    except runner.Busy as e:
        st.session_state["train_message"] = f"Not started: {e}. One run at a time: wait for it, or stop it."
    except (runner.RunError, models.InvalidConfig) as e:
        st.session_state["train_message"] = f"Cannot start: {e}"


def manage(action, target: str, *args) -> None:
    """Rename or Delete button callback, on the run the button was drawn for."""
    try:
        action(target, *args)
    except runner.RunError as e:
        st.session_state["manage_message"] = f"Not done: {e}"


job = runner.latest()
running = job is not None and job.state == "running"
st.session_state["train_page_runs"] = st.session_state.get("train_page_runs", 0) + 1
past = [m for m in map(cache.meta, cache.choices()) if m is not None]


@st.fragment(run_every=1.0 if running else None)
def live() -> None:
    """The run in progress, refreshed every second while one is going."""
    rerun_alone = st.session_state.get("live_seen") == st.session_state["train_page_runs"]  # not with the page
    st.session_state["live_seen"] = st.session_state["train_page_runs"]
    job = runner.latest()
    with st.container(key="live"):
        if job is None:
            st.info("No run yet: set the sliders and press **Train**.")
            return
        p, state = job.progress(), job.state
        what = f"**{p['name']}**" + (f" (run {p['run'] + 1} of {p['runs']})" if p["runs"] > 1 else "")
        if job.hung:
            st.warning(f"The training worker for {what} has said nothing for {job.silent:.0f} s: it seems stuck.")
            st.button("End it", key="end_train", on_click=runner.end, args=(job,), type="primary",
                      help="Ends the worker at once; the run in progress is not saved.")
        elif state == "running" and not p["steps"]:
            st.markdown(f"Starting {what}: loading TensorFlow and MNIST ({job.seconds:.0f} s)")
            st.progress(0.0)
            st.button("Stop", key="stop_train", on_click=runner.stop, args=(job,),
                      help="Stops before training starts: nothing is saved.")
        elif state == "running":
            left = f" · about {p['left']:.0f} s left" if p["left"] is not None else ""
            epoch = min(p["epoch"] + 1, p["epochs"])
            # the figures in plain text: they show at once, the bar's own text only once its code has loaded
            st.markdown(f"Training {what}  \nepoch {epoch} of {p['epochs']} · batch {p['step']:,} of "
                        f"{p['steps']:,} · {p['elapsed']:.0f} s elapsed{left}")
            st.progress(p["fraction"])
            st.button("Stop", key="stop_train", on_click=runner.stop, args=(job,),
                      help="Stops after the current batch; the run is kept, labelled stopped.")
        else:
            saved = job.of("saved")
            done = "; ".join(f"{e['bundle'].rsplit('/', 1)[-1]}: test accuracy {e['test_accuracy']:.2%}"
                             + (f" (stopped after {e['epochs_done']} epochs)" if e["stopped"] else "") for e in saved)
            if state == "done":
                st.success(f"Finished in {job.seconds:.0f} s. {done}")
            elif state == "stopped":
                st.warning(f"Stopped. {'Kept, labelled stopped: ' + done if saved else 'Nothing was saved.'}")
            else:
                st.warning(f"The run failed: {job.error}. {('Saved before that: ' + done) if saved else 'Nothing was saved.'} "
                           "The next run starts afresh.")
        hist = job.history(p["run"])
        if hist:
            st.plotly_chart(figures.history(hist, f"{p['name']}: epoch by epoch"), key="live_curves")
        elif state == "running":
            st.caption("The curves appear after the first epoch.")
        if state == "running":
            try:
                snaps = inside.read_snapshots(jobs.snapshot_path(job.folder, p["run"]))
            except inside.SnapshotError:
                snaps = None  # being written right now: the next second shows it
            if snaps is not None and (panel := inside.learned(snaps, len(snaps) - 1)):
                with st.container(key="live_weights"):
                    ui.panels([panel], "live_weights")
    if running and state != "running" and rerun_alone:
        st.rerun()  # the whole page: the new run joins the table and the pickers


controls, live_panel = st.columns([2, 3], gap="large")
with live_panel:  # drawn first: a reload shows the run in progress as soon as possible
    live()
with controls, st.container(key="train_controls"):
    a, b = st.columns(2)
    a.button("Baseline recipe", on_click=preset, args=("baseline",), width="stretch", key="preset_baseline",
             help=f"The original recipe's baseline: 784 → 10 sigmoid, {RECIPE['linear'].epochs} epochs, batch "
                  f"{RECIPE['linear'].batch_size}, learning rate {RECIPE['linear'].learning_rate:g}.")
    b.button("Improved recipe", on_click=preset, args=("improved",), width="stretch", key="preset_improved",
             help=f"The original recipe's improved network: {RECIPE['mlp'].hidden} hidden units, {RECIPE['mlp'].epochs} "
                  f"epochs, batch {RECIPE['mlp'].batch_size}, learning rate {RECIPE['mlp'].learning_rate:g}.")
    kind = KINDS[st.selectbox("Network", list(KINDS), key="train_kind")]
    st.slider("Epochs", 1, 30, key="train_epochs", help="Passes over the training images.")
    st.slider("Hidden units", 16, 1024, key="train_hidden", disabled=kind != "mlp",
              help="Width of the improved network's hidden layer (the recipe has 100).")
    st.select_slider("Learning rate", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], key="train_lr",
                     format_func=lambda v: f"{v:g}", help="Adam's step size; 0.001 is the recipe's.")
    st.select_slider("Batch size", [16, 32, 64, 128, 256], key="train_batch",
                     help="Images per step; the recipe's 32. Larger is faster per epoch, learns less per epoch.")
    st.select_slider("Training images", IMAGES, key="train_images", format_func=lambda v: f"{v:,}",
                     help=f"A subset trains in seconds; {ALL:,} is all ({60000 - ALL:,} more are kept for validation).")
    st.number_input("Seed", 0, 99999, key="train_seed", help="Same seed, same settings: the same run, within noise.")
    cfg = config(kind)
    saved.update({k: st.session_state[f"train_{k}"] for k in DEFAULTS})
    st.caption(f"About {runner.estimate_seconds(cfg, past):.0f} s on this machine "
               f"({runner.train_images(cfg):,} images × {cfg.epochs} epochs; from the most alike earlier run).")
    go, both = st.columns(2)
    go.button("Train", type="primary", disabled=running, key="go_train", width="stretch",
              on_click=launch, args=([(kind, {})],))
    both.button("Train both", disabled=running, key="go_both", width="stretch", on_click=launch,
                args=([("linear", {"epochs": RECIPE["linear"].epochs}), ("mlp", {"epochs": RECIPE["mlp"].epochs})],),
                help="The baseline, then the improved network, each for its recipe's epochs (5, then 10); "
                     "hidden units, learning rate, batch size, images and seed as set here.")
    if running:
        st.info(f"A training is running: {job.summary()}. One run at a time: wait for it, or stop it.")
    if st.session_state.get("train_message"):
        st.warning(st.session_state.pop("train_message"))
    if broken := runner.damaged():
        with st.expander(f"{len(broken)} job record{'s' * (len(broken) > 1)} cannot be read (skipped)"):
            for why in broken:
                st.caption(why)



st.divider()
st.subheader("Compare runs")
rows = evaluate.compare_rows([p for p in cache.choices() if cache.meta(p) is not None])
table = pd.DataFrame([{**{k: v for k, v in r.items() if k not in ("bundle", "history", "shipped")},
                       "origin": "shipped" if r["shipped"] else "run"} for r in rows])
picked = st.dataframe(
    table, hide_index=True, key="runs_table", on_select="rerun", selection_mode="multi-row",
    column_order=["name", "origin", "model", "hidden units", "epochs", "stopped", "parameters", "train images",
                  "train_seconds", "val_accuracy", "test_accuracy", "per_class"],
    column_config={
        "train_seconds": st.column_config.NumberColumn("training s", format="%.0f"),
        "val_accuracy": st.column_config.NumberColumn("validation", format="percent"),
        "test_accuracy": st.column_config.NumberColumn("test", format="percent"),
        "per_class": st.column_config.BarChartColumn("test accuracy per digit (0-9)", y_min=0.8, y_max=1.0),
        "parameters": st.column_config.NumberColumn(format="localized"),
        "train images": st.column_config.NumberColumn(format="localized")})
chosen = [rows[i] for i in picked.selection.rows] or [r for r in rows if not r["shipped"]][:3]
curves, sweeps = st.columns(2)
with curves:
    st.markdown("**Learning curves**: " + ("the runs selected in the table" if picked.selection.rows
                                             else "the newest runs (select rows in the table to choose)"))
    with_history = {r["name"]: r["history"] for r in chosen if r["history"]}
    if with_history:
        st.plotly_chart(figures.curves(with_history), key="overlay")
    else:
        st.caption("No run with recorded curves selected.")
with sweeps:
    st.markdown("**Where more stops paying**: test accuracy of every run")
    st.plotly_chart(figures.sweep(rows, "hidden units", "against hidden units (improved network)"), key="sweep_hidden")
    st.plotly_chart(figures.sweep(rows, "epochs", "against epochs"), key="sweep_epochs")

st.divider()
st.subheader("Watch it learn")
st.caption("What each network had learned after every epoch: the baseline's ten templates, the improved network's "
           "hidden units, and the validation confusion matrix emptying off the diagonal. Select up to two rows in "
           "the table above to put two runs side by side.")


def replay(row: dict, slot: int, playing: bool) -> None:
    """One run's snapshots, epoch by epoch; while `playing`, one epoch further at each run."""
    snaps, why = cache.snapshots(row["bundle"])
    if snaps is None:
        st.caption(why or "No snapshots: this run was trained before digitrec recorded them.")
        return
    key, epochs = f"replay_{slot}_{row['name']}", [int(e) for e in snaps.epochs]
    if st.session_state.get(key) not in epochs:
        st.session_state[key] = epochs[-1]  # the end of training, until someone moves the slider
    elif playing:  # the next epoch (from the start again after the last) before the slider is drawn
        st.session_state[key] = epochs[(epochs.index(st.session_state[key]) + 1) % len(epochs)]
    epoch = st.select_slider("After epoch", epochs, key=key)
    k = epochs.index(epoch)
    if panel := inside.learned(snaps, k):
        ui.panels([panel], f"{key}_learned")
    left, right = st.columns(2)
    left.plotly_chart(figures.learning(epochs, snaps.accuracy, epoch, "validation accuracy"), key=f"{key}_acc")
    right.plotly_chart(figures.confusion(snaps.confusion[k], f"validation, after epoch {epoch}"), key=f"{key}_cm")


still, playing = st.fragment(replay), st.fragment(replay, run_every=1.0)  # Play: a step a second, alone

with st.container(key="weights"):
    watched = chosen[:2] or [r for r in rows if r["shipped"] and r["name"] in ("baseline", "improved")]
    for slot, (col, row) in enumerate(zip(st.columns(len(watched)), watched)):
        with col:
            hidden = f", {row['hidden units']} hidden units" if row["hidden units"] else ""
            st.markdown(f"**{row['name']}** ({row['model']}{hidden})")
            play = st.toggle("Play", key=f"replay_{slot}_{row['name']}_play", help="Steps through the epochs, one a second.")
            (playing if play else still)(row, slot, play)

own = [r for r in rows if not r["shipped"]]
with st.expander("Rename or delete a run", expanded=False):
    if not own:
        st.caption("No runs yet. Shipped models cannot be renamed or deleted.")
    else:
        target = st.selectbox("Run", [r["bundle"] for r in own], format_func=lambda b: b.rsplit("/", 1)[-1], key="manage_run")
        name = target.rsplit("/", 1)[-1]
        new = st.text_input("New name", key="manage_name")
        rn, rm = st.columns(2)
        # The run is bound when the buttons are drawn: if it vanishes meanwhile (another tab), the
        # click acts on nothing and says so, never on whichever run the picker falls back to.
        rn.button(f"Rename {name}", key="manage_rename", disabled=not new, on_click=manage,
                  args=(runs.rename, target, new.strip()))
        sure = rm.popover("Delete…", key="manage_delete_menu")
        sure.button(f"Delete {name} for good", type="primary", key="manage_delete", on_click=manage,
                    args=(runs.delete, target))
    if message := st.session_state.pop("manage_message", None):
        st.warning(message)
