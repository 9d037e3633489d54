"""The quiz over gRPC: rounds drawn from a dataset version, answers checked once on the server."""

from __future__ import annotations

import io
import secrets

import grpc
import pytest
from PIL import Image

from shared.client import ClientError
from terrafake.detection.v1 import detection_service_pb2 as pb


def player() -> str:
    return secrets.token_urlsafe(12)


def start(client, version_id, who, nickname=""):
    return client.call(client.detection.StartQuizRound, pb.StartQuizRoundRequest(
        dataset_version_id=version_id, player=who, nickname=nickname), retry=False)  # fmt: skip


def answer(client, token, who, value):
    return client.call(client.detection.AnswerQuizRound, pb.AnswerQuizRoundRequest(
        round_token=token, player=who, answer=value), retry=False)  # fmt: skip


def code_of(call) -> grpc.StatusCode:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.code


def test_rounds_are_scored_on_the_server_and_answered_once(client_for, mixed_tiles):
    reader = client_for("read")  # the console plays for anonymous visitors with a read token
    _, version, _ = mixed_tiles
    who = player()
    truths, correct = [], 0
    for i in range(6):
        round_ = start(reader, version.id, who, "tester")
        tile = Image.open(io.BytesIO(round_.png))
        assert tile.format == "PNG" and tile.size == (round_.width, round_.height) and not tile.info.get("text")
        assert len(round_.round_token) >= 40
        guess = pb.QUIZ_ANSWER_REAL if i % 2 else pb.QUIZ_ANSWER_GENERATED
        result = answer(reader, round_.round_token, who, guess)
        truths.append(result.truth)
        correct += result.correct
        assert result.correct == (result.truth == guess)
        assert result.score.rounds == i + 1 and result.score.correct == correct
        assert bool(result.generator) == (result.truth == pb.QUIZ_ANSWER_GENERATED)
        # Single use: the same token again, or another player, gets nothing.
        assert code_of(lambda: answer(reader, round_.round_token, who, guess)) == grpc.StatusCode.FAILED_PRECONDITION
        assert code_of(lambda: answer(reader, round_.round_token, player(), guess)) == grpc.StatusCode.NOT_FOUND
    summary = reader.call(reader.detection.GetQuizSummary, pb.GetQuizSummaryRequest(player=who)).score
    assert (summary.rounds, summary.correct) == (6, correct)
    board = reader.call(reader.detection.GetQuizLeaderboard, pb.GetQuizLeaderboardRequest(min_rounds=6)).entries
    assert any(e.nickname == "tester" and e.rounds == 6 and e.correct == correct for e in board)


def test_a_round_shown_to_one_player_cannot_be_answered_by_another_before_them(client, mixed_tiles):
    _, version, _ = mixed_tiles
    alice, mallory = player(), player()
    round_ = start(client, version.id, alice)
    assert code_of(lambda: answer(client, round_.round_token, mallory, pb.QUIZ_ANSWER_REAL)) == grpc.StatusCode.NOT_FOUND
    assert answer(client, round_.round_token, alice, pb.QUIZ_ANSWER_REAL).score.rounds == 1


def test_people_fooled_per_generator(client, mixed_tiles, generator):
    _, version, _ = mixed_tiles
    gen_version = generator[0].result["model_version_id"]
    who = player()
    before = {s.generator: s for s in client.call(client.detection.GetQuizStats, pb.GetQuizStatsRequest()).generators}
    fooled = rounds = 0
    for _ in range(40):
        round_ = start(client, version.id, who)
        result = answer(client, round_.round_token, who, pb.QUIZ_ANSWER_REAL)  # always "real"
        if result.truth == pb.QUIZ_ANSWER_GENERATED:
            assert result.generator == gen_version
            rounds, fooled = rounds + 1, fooled + 1  # answering "real" to a generated tile: fooled
    assert rounds > 0  # 40 fair coin flips
    [stats] = client.call(client.detection.GetQuizStats, pb.GetQuizStatsRequest(generator=gen_version)).generators
    old = before.get(gen_version)
    assert stats.rounds - (old.rounds if old else 0) == rounds and stats.fooled - (old.fooled if old else 0) == fooled


def test_bad_quiz_requests(client, real_tiles, mixed_tiles):
    _, version, _ = mixed_tiles
    ok = player()
    cases = [
        (lambda: start(client, version.id, "short"), grpc.StatusCode.INVALID_ARGUMENT),
        (lambda: start(client, version.id, "bad player id!"), grpc.StatusCode.INVALID_ARGUMENT),
        (lambda: start(client, version.id, ok, "x" * 33), grpc.StatusCode.INVALID_ARGUMENT),
        (lambda: start(client, "not-a-uuid", ok), grpc.StatusCode.INVALID_ARGUMENT),
        (lambda: start(client, "00000000-0000-0000-0000-000000000000", ok), grpc.StatusCode.NOT_FOUND),
        (lambda: answer(client, "made-up-token", ok, pb.QUIZ_ANSWER_REAL), grpc.StatusCode.NOT_FOUND),
        (lambda: answer(client, "", ok, pb.QUIZ_ANSWER_REAL), grpc.StatusCode.INVALID_ARGUMENT),
        (lambda: answer(client, start(client, version.id, ok).round_token, ok, pb.QUIZ_ANSWER_UNSPECIFIED),
         grpc.StatusCode.INVALID_ARGUMENT),
        (lambda: client.call(client.detection.GetQuizLeaderboard, pb.GetQuizLeaderboardRequest(limit=1000)),
         grpc.StatusCode.INVALID_ARGUMENT),
    ]
    for call, expected in cases:
        assert code_of(call) == expected
    # A version with only real images (made before the generated tiles were added) cannot be played.
    _, only_real = real_tiles
    with pytest.raises(ClientError) as err:
        start(client, only_real.id, ok)
    assert err.value.code == grpc.StatusCode.FAILED_PRECONDITION and "authenticity=generated" in err.value.message
