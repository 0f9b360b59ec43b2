"""`CartoonGAN`: the two training phases of the paper as one `keras.Model` with a custom `train_step`.

- `"initialization"` (paper section 3.4): the generator alone learns to reconstruct photos,
  minimizing the content loss only. This gives the adversarial phase a sensible start.
- `"adversarial"`: the discriminator learns that real cartoon frames are cartoons and that both
  edge-smoothed frames and generated images are not; the generator minimizes its adversarial loss
  plus `content_weight` times the content loss.

Training data are `(photos, cartoons, smoothed)` batches (see `training.data.training_dataset`),
all in [-1, 1] in the generator's channel order. Switching `phase` makes the next `fit` trace a
new train step. Reported metrics (epoch means): `content_loss` (unweighted) in both phases, and
`generator_loss`, `adversarial_loss`, `discriminator_loss` in the adversarial phase.
"""

import keras
import tensorflow as tf
from keras import ops

from training.conventions import check_color_order
from training.losses import (
    CONTENT_WEIGHT,
    check_adversarial_loss,
    content_loss,
    discriminator_loss,
    generator_adversarial_loss,
)

INITIALIZATION = "initialization"
ADVERSARIAL = "adversarial"
PHASES = (INITIALIZATION, ADVERSARIAL)


def check_phase(phase):
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
    return phase


def scale_for_replicas(loss):
    """Divides a per-replica mean loss by the number of replicas: under `tf.distribute`, Keras
    optimizers sum the gradients of all replicas."""
    return loss / tf.distribute.get_strategy().num_replicas_in_sync


class CartoonGAN(keras.Model):
    """Trains `generator` against `discriminator`, with content loss from `feature_extractor`
    (a frozen VGG19 from `training.losses.build_vgg_feature_extractor`)."""

    def __init__(
        self,
        generator,
        discriminator,
        feature_extractor,
        content_weight=CONTENT_WEIGHT,
        color_order="RGB",
        phase=INITIALIZATION,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not content_weight >= 0:
            raise ValueError(f"content_weight must be non-negative, got {content_weight!r}")
        check_color_order(color_order)
        self.generator = generator
        self.discriminator = discriminator
        self.feature_extractor = feature_extractor
        self.feature_extractor.trainable = False
        self.content_weight = float(content_weight)
        self.color_order = color_order
        self._phase = check_phase(phase)
        self.content_loss_tracker = keras.metrics.Mean(name="content_loss")
        self.generator_loss_tracker = keras.metrics.Mean(name="generator_loss")
        self.adversarial_loss_tracker = keras.metrics.Mean(name="adversarial_loss")
        self.discriminator_loss_tracker = keras.metrics.Mean(name="discriminator_loss")

    @property
    def phase(self):
        return self._phase

    @phase.setter
    def phase(self, phase):
        if check_phase(phase) != self._phase:
            self._phase = phase
            self.train_function = None  # the train step of the other phase is traced on the next fit

    def compile(self, generator_optimizer, discriminator_optimizer, adversarial_loss="lsgan", **kwargs):
        """`adversarial_loss`: `"lsgan"` (least squares, the default) or `"bce"` (cross-entropy)."""
        super().compile(**kwargs)
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer
        self.adversarial_loss = check_adversarial_loss(adversarial_loss)

    @property
    def metrics(self):
        # Listed here so that Keras resets them at the start of every epoch.
        return [
            self.content_loss_tracker,
            self.generator_loss_tracker,
            self.adversarial_loss_tracker,
            self.discriminator_loss_tracker,
        ]

    def call(self, photos, training=False):
        return self.generator(photos, training=training)

    def train_step(self, data):
        photos, cartoons, smoothed = data
        if self.phase == INITIALIZATION:
            return self.initialization_step(photos)
        return self.adversarial_step(photos, cartoons, smoothed)

    def initialization_step(self, photos):
        """One generator update on the content loss alone."""
        with tf.GradientTape() as tape:
            generated = self.generator(photos, training=True)
            loss = content_loss(self.feature_extractor, photos, generated, self.color_order)
            scaled_loss = scale_for_replicas(loss)
        variables = self.generator.trainable_weights
        gradients = tape.gradient(scaled_loss, variables)
        self.generator_optimizer.apply_gradients(zip(gradients, variables))
        self.content_loss_tracker.update_state(loss)
        return {"content_loss": self.content_loss_tracker.result()}

    def adversarial_step(self, photos, cartoons, smoothed):
        """One update of both networks from one forward pass (as in the TensorFlow DCGAN tutorial).

        The discriminator sees cartoons, smoothed cartoons and generated images as one batch
        (instance normalization is per image, so this equals three separate calls).
        """
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            generated = self.generator(photos, training=True)
            logits = self.discriminator(ops.concatenate([cartoons, smoothed, generated], axis=0), training=True)
            real_logits, smoothed_logits, generated_logits = ops.split(logits, 3, axis=0)
            discriminator_total = discriminator_loss(
                real_logits, smoothed_logits, generated_logits, self.adversarial_loss
            )
            adversarial = generator_adversarial_loss(generated_logits, self.adversarial_loss)
            content = content_loss(self.feature_extractor, photos, generated, self.color_order)
            generator_total = adversarial + self.content_weight * content
            scaled_generator_loss = scale_for_replicas(generator_total)
            scaled_discriminator_loss = scale_for_replicas(discriminator_total)

        for tape, loss, network, optimizer in (
            (generator_tape, scaled_generator_loss, self.generator, self.generator_optimizer),
            (discriminator_tape, scaled_discriminator_loss, self.discriminator, self.discriminator_optimizer),
        ):
            variables = network.trainable_weights
            gradients = tape.gradient(loss, variables)
            optimizer.apply_gradients(zip(gradients, variables))

        self.content_loss_tracker.update_state(content)
        self.generator_loss_tracker.update_state(generator_total)
        self.adversarial_loss_tracker.update_state(adversarial)
        self.discriminator_loss_tracker.update_state(discriminator_total)
        return {metric.name: metric.result() for metric in self.metrics}
