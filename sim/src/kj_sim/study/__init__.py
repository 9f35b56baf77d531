"""The offline dispatch-policy study (`make study`): a discrete-event simulation of a day."""
